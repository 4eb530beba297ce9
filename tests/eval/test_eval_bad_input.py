"""``eval score`` on bad input: a clear error naming file, line and field, or a recorded warning — never a
crash, never a silently wrong number; the input file is never changed and no metrics are written on error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tempoforge.cli import main
from tempoforge.eval.benchmarks import NAMES, scorer_for
from tempoforge.eval.metrics.grounding import CONVENTIONS as GROUNDING_CONVENTIONS
from tempoforge.eval.score import CONVENTIONS, score
from tempoforge.models.prompts import BENCHMARK_TASKS


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_strict_survives_adversarial_answers_through_the_real_cli(tmp_path: Path) -> None:
    # GT [0, 10]; q1 "0 - 10" -> IoU 1; q2 1000 nested brackets (RecursionError before) -> parse failure;
    # q3 NaN/Infinity (status "ok" before) -> failure; q4 negative span -> failure; q5 past the 30 s video -> failure
    pred = _write(tmp_path / "p.jsonl", [
        {"id": "q1", "duration": 30.0, "gt": [0, 10], "answer": "0 - 10"},
        {"id": "q2", "duration": 30.0, "gt": [0, 10], "answer": "[" * 1000 + "]" * 1000},
        {"id": "q3", "duration": 30.0, "gt": [0, 10], "answer": "[NaN, Infinity]"},
        {"id": "q4", "duration": 30.0, "gt": [0, 10], "answer": "-5 to -2 seconds"},
        {"id": "q5", "duration": 30.0, "gt": [0, 10], "answer": "from 0 to 45 seconds"},
    ])
    before = pred.read_bytes()
    out = tmp_path / "m.json"
    res = subprocess.run([sys.executable, "-m", "tempoforge.cli", "eval", "score", "--benchmark", "charades-sta",
                          "--convention", "strict", "--pred", str(pred), "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    metrics = json.loads(out.read_text())
    # R1@0.5 = 1/5, mIoU = 1/5, 4 parse failures
    assert (metrics["parse_failures"], metrics["R1@0.5"], metrics["mIoU"]) == (4, 0.2, 0.2)
    assert pred.read_bytes() == before


def test_mcq_on_a_grounding_file_is_an_error_not_zero_percent(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    pred = _write(tmp_path / "p.jsonl", [
        {"id": "q1", "benchmark": "grounding", "duration": 30.0, "gt": [[0, 10]], "answer": "0 - 10"},
    ])
    out = tmp_path / "m.json"
    assert main(["eval", "score", "--benchmark", "mcq", "--pred", str(pred), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"{pred}:1: this is not a multiple-choice answer (field 'gt' is [[0, 10]]" in err
    assert "score it with --benchmark charades-sta" in err
    assert not out.exists()


def test_mcq_rows_without_an_answer_key_are_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # before: a row with no extractable choice was never checked for 'gt' and counted as wrong
    pred = _write(tmp_path / "p.jsonl", [{"id": "a", "answer": "B", "gt": "B"}, {"id": "b", "answer": "hmm"}])
    assert main(["eval", "score", "--benchmark", "mcq", "--pred", str(pred)]) == 2
    assert f"{pred}:2: missing field 'gt'" in capsys.readouterr().err


def test_reversed_ground_truth_and_missing_answers_are_reported(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    pred = _write(tmp_path / "p.jsonl", [
        {"id": "q1", "duration": 30.0, "gt": [0, 10], "answer": "0 - 10"},
        {"id": "q2", "duration": 30.0, "gt": [10, 5], "answer": "5 - 10"},
        {"id": "q3", "duration": 30.0, "gt": [0, 10], "answer": ""},
        {"id": "q4", "duration": 30.0, "gt": [0, 10], "answer": "", "meta": {"error": "v.mp4: file is empty"}},
    ])
    before = pred.read_bytes()
    out = tmp_path / "m.json"
    assert main(["eval", "score", "--benchmark", "charades-sta", "--pred", str(pred), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    expected = [
        "1 predictions have ground truth with start > end (lines 2): scored as given",
        "2 predictions have no answer (lines 3, 4): scored as failures; 1 of them failed in predict "
        "(line 4: v.mp4: file is empty)",
    ]
    for line in expected:
        assert f"warning: {line}" in printed
    metrics = json.loads(out.read_text())
    assert metrics["warnings"] == expected
    assert metrics["Total"] == 4 and metrics["Failed"] == 2  # the empty answers are failures, as officially
    rows = score("charades-sta", pred).details["rows"]
    assert [r["warnings"] for r in rows] == [
        [], ["ground truth [10.0, 5.0] has start > end (scored as given)"], ["no answer (scored as a failure)"],
        ["no answer (scored as a failure); predict failed: v.mp4: file is empty"],
    ]
    assert pred.read_bytes() == before


def test_benchmark_names_are_one_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # predict's names are all names eval score takes, and map to the scorer of their task
    assert set(BENCHMARK_TASKS) <= set(NAMES)
    task_of_scorer = {"charades-sta": "grounding", "qvhighlights": "qvhighlights",
                      "dense-captioning": "dense_captioning"}
    assert all(task_of_scorer[scorer_for(name)] == task for name, task in BENCHMARK_TASKS.items())
    assert CONVENTIONS["charades-sta"] == tuple(GROUNDING_CONVENTIONS)
    # a file written by an older predict ("benchmark": "grounding") scores under both names
    old = _write(tmp_path / "old.jsonl", [{"id": "q", "benchmark": "grounding", "duration": 30.0, "gt": [0, 10],
                                           "answer": "0 - 10"}])
    for name in ("charades-sta", "grounding", "Charades_STA"):
        assert score(name, old).metrics["R@0.7"] == 1.0
    # a file of another scorer is refused with the line, the field and the command to use
    qv = _write(tmp_path / "qv.jsonl", [{"id": "q", "benchmark": "grounding", "gt": [0, 10], "answer": "0 - 1"},
                                        {"id": "r", "benchmark": "qvhighlights", "gt": [0, 10], "answer": "0 - 1"}])
    assert main(["eval", "score", "--benchmark", "tempoworld", "--pred", str(qv)]) == 2
    assert (f"{qv}:2: field 'benchmark' is 'qvhighlights': these are qvhighlights predictions, not charades-sta; "
            "score them with --benchmark qvhighlights") in capsys.readouterr().err


def test_a_convention_that_does_not_apply_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pred = _write(tmp_path / "p.jsonl", [{"id": "q", "gt": [0, 10], "answer": "0 - 10"}])
    assert main(["eval", "score", "--benchmark", "charades-sta", "--convention", "vinoground",
                 "--pred", str(pred)]) == 2
    assert "--convention vinoground does not apply to charades-sta; choose from etchat" in capsys.readouterr().err
    assert main(["eval", "score", "--benchmark", "qvhighlights", "--convention", "strict", "--pred", str(pred),
                 "--gt", str(pred)]) == 2
    assert "qvhighlights has only its official convention" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse lists the choices
        main(["eval", "score", "--benchmark", "charades-sta", "--convention", "nope", "--pred", str(pred)])
    assert "invalid choice: 'nope' (choose from 'etchat', 'lmms-eval-tvg'" in capsys.readouterr().err
