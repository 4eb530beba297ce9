"""``tempoforge eval score`` / ``eval report`` end to end, good and bad input."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from tempoforge.cli import main


def write_lines(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture()
def grounding_preds(tmp_path: Path) -> Path:
    # GT [0, 10] everywhere. etchat: float32 union IoU of the first parsed window
    #   q1 "0 - 10" -> 1.0 ; q2 "0 - 5" -> 0.5 ; q3 unparseable -> Failed, 0 ; q4 pred [0, 7] -> f32 0.69999999
    # R@0.3 = 3/4, R@0.5 = 3/4, R@0.7 = 1/4 (0.7 misses in float32), mIoU = (1 + .5 + 0 + .7) / 4 = 0.55
    return write_lines(
        tmp_path / "preds.jsonl",
        [
            {"id": "q1", "duration": 30.0, "gt": [0, 10], "answer": "The event happens from 0 - 10 seconds."},
            {"id": "q2", "duration": 30.0, "gt": [0, 10], "answer": "0 - 5"},
            {"id": "q3", "duration": 30.0, "gt": [[0, 10]], "answer": "I cannot tell."},
            {"id": "q4", "duration": 30.0, "gt": [0, 10], "pred": [0, 7]},
        ],
    )


def test_grounding_score_cli(
    grounding_preds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.json"
    assert (
        main(
            [
                "eval",
                "score",
                "--benchmark",
                "charades-sta",
                "--pred",
                str(grounding_preds),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    metrics = json.loads(out.read_text())
    assert metrics == {
        "convention": "etchat",
        "Total": 4,
        "Failed": 1,
        "R@0.3": 0.75,
        "R@0.5": 0.75,
        "R@0.7": 0.25,
        "mIoU": 0.55,
    }
    table = capsys.readouterr().out
    assert re.search(r"R@0\.7\s+0\.25", table)
    # another convention: lmms-eval harness (hull IoU, float64) -> [0, 7] is exactly 0.7 and hits
    main(
        [
            "eval",
            "score",
            "--benchmark",
            "charades-sta",
            "--convention",
            "lmms-eval",
            "--pred",
            str(grounding_preds),
            "--out",
            str(out),
        ]
    )
    assert json.loads(out.read_text())["IOU@7"] == 50.0


def test_lmms_eval_tvg_cli_names_its_convention_and_help_states_the_quirk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a: keyword sentence, "0 to 5" -> [0, 5] vs [0, 10]: hull IoU 5 / 10 = 0.5
    # b: "0 - 5" has no keyword sentence -> eval_tvg.py replaces it by [20, 30] -> IoU 0 (Failed)
    # IOU 0.3 = IOU 0.5 = 1 * 100 / 2 = 50.0; IOU 0.7 = 0.0; mIOU = 0.5 * 100 / 2 = 25.0
    preds = write_lines(
        tmp_path / "p.jsonl",
        [
            {"id": "a", "gt": [0, 10], "answer": "The event happens from 0 to 5 seconds."},
            {"id": "b", "gt": [0, 10], "answer": "0 - 5"},
        ],
    )
    out = tmp_path / "m.json"
    argv = ["eval", "score", "--benchmark", "charades-sta", "--convention", "lmms-eval-tvg"]
    assert main([*argv, "--pred", str(preds), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == {
        "convention": "lmms-eval-tvg",
        "Total": 2,
        "Failed": 1,
        "IOU 0.3": 50.0,
        "IOU 0.5": 50.0,
        "IOU 0.7": 0.0,
        "mIOU": 25.0,
    }
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["eval", "score", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "ONLY sentences (split on ! ? newline) containing start/end/happen... are read" in text
    assert "[gt_end + 10, gt_end + 20] (IoU 0)" in text and "--soda-multi-reference" in text


def test_qvhighlights_cli_matches_official(datasets_dir: Path, tmp_path: Path) -> None:
    qv = datasets_dir / "annotations" / "qvhighlights"
    out = tmp_path / "qv.json"
    rc = main(
        [
            "eval",
            "score",
            "--benchmark",
            "qvhighlights",
            "--pred",
            str(qv / "sample_val_preds.jsonl"),
            "--gt",
            str(qv / "highlight_val_release.jsonl"),
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    assert (
        out.read_text()
        == json.dumps(json.loads((qv / "sample_val_preds_metrics_raw.json").read_text()), indent=2) + "\n"
    )


def test_dense_captioning_cli_without_java(tmp_path: Path) -> None:
    ref = tmp_path / "ref.json"
    ref.write_text(
        json.dumps(
            {
                "v1": {
                    "duration": 60,
                    "timestamps": [[0, 10], [20, 30]],
                    "sentences": [" a man cuts bread", "a man eats"],
                }
            }
        )
    )
    sub = tmp_path / "sub.json"
    sub.write_text(json.dumps({"results": {"v1": [{"timestamp": [0, 10], "sentence": "a man cuts bread"}]}}))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    env = {**os.environ, "PATH": str(bindir)}  # no java on PATH
    out = tmp_path / "m.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tempoforge.cli",
            "eval",
            "score",
            "--benchmark",
            "dense-captioning",
            "--pred",
            str(sub),
            "--gt",
            str(ref),
            "--tious",
            "0.5",
            "--soda-multi-reference",
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    m = json.loads(out.read_text())
    # 1 of 1 prediction covered, 1 of 2 GT events -> P 100, R 50 (x100, as densevid prints)
    assert m["Precision"]["0.5"] == 100.0 and m["Recall"]["0.5"] == 50.0
    assert m["F1"]["average"] == pytest.approx(2 * 100 * 50 / 150)
    assert m["METEOR"] == {"0.5": None, "average": None} and m["SODA_c"] is None
    assert m["tokenizer"] == "simple" and m["ROUGE_L"]["0.5"] == pytest.approx(100.0)
    assert "METEOR unavailable" in proc.stdout
    soda = "SODA_c: fujiso/SODA soda.py (METEOR, type c, multi_reference=True)"
    assert m["convention"] == f"densevid_eval; {soda}"


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (
            '{"id": "a", "gt": [0, 1], "answer": "0 - 1"}\n{"id": "b", "gt": [0, 1], "answer": \n',
            r"preds\.jsonl:2: not valid JSON",
        ),
        (
            '{"id": "a", "gt": [0, 1], "pred": [0, NaN]}\n',
            r"preds\.jsonl:1: field 'pred' contains a non-finite number",
        ),
        (
            '{"id": "a", "gt": [0, 1], "answer": "x"}\n\n{"id": "a", "gt": [0, 1], "answer": "y"}\n',
            r"preds\.jsonl:3: duplicate id 'a' \(first on line 1\)",
        ),
        ('{"id": "a", "gt": [0, NaN], "answer": "x"}\n', r"preds\.jsonl:1: field 'gt'"),
    ],
)
def test_bad_grounding_input_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, pattern: str
) -> None:
    p = tmp_path / "preds.jsonl"
    p.write_text(content + '{"id": "z", "gt": [0, 1], "answer": "0 - 1"}\n')
    assert main(["eval", "score", "--benchmark", "charades-sta", "--pred", str(p)]) == 2
    assert re.search(pattern, capsys.readouterr().err)


def test_qvhighlights_missing_qid_is_an_error(
    datasets_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    qv = datasets_dir / "annotations" / "qvhighlights"
    lines = (qv / "sample_val_preds.jsonl").read_text().splitlines()[1:]  # drop qid 2579
    sub = tmp_path / "sub.jsonl"
    sub.write_text("\n".join(lines) + "\n")
    rc = main(
        [
            "eval",
            "score",
            "--benchmark",
            "qvhighlights",
            "--pred",
            str(sub),
            "--gt",
            str(qv / "highlight_val_release.jsonl"),
        ]
    )
    assert rc == 2
    assert "1 ground-truth qids have no prediction (e.g. [2579])" in capsys.readouterr().err


def test_report_html_with_readable_pngs(grounding_preds: Path, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    assert (
        main(
            [
                "eval",
                "report",
                "--benchmark",
                "charades-sta",
                "--convention",
                "strict",
                "--pred",
                str(grounding_preds),
                "--out",
                str(html),
                "--top-k",
                "3",
            ]
        )
        == 0
    )
    text = html.read_text()
    assert "<h2>Metrics</h2>" in text and "I cannot tell." in text  # the failure example with its raw answer
    pngs = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", text)
    assert len(pngs) == 3  # best timelines, worst timelines, IoU histogram
    for b64 in pngs:
        img = mpimg.imread(io.BytesIO(base64.b64decode(b64)), format="png")
        assert img.shape[0] > 200 and img.shape[1] > 500


def test_etbench_and_mcq_cli(tmp_path: Path) -> None:
    # E.T.Bench tvg: "0 - 10" vs GT [0, 10] -> IoU 1; the second answer has no number -> Failed, IoU 0
    # F1@t = 1/2 at every t -> F1 = 0.5
    etb = tmp_path / "etbench.json"
    etb.write_text(
        json.dumps(
            [
                {"task": "tvg", "source": "charades_sta", "idx": 0, "tgt": [[0, 10]], "a": "0 - 10"},
                {"task": "tvg", "source": "charades_sta", "idx": 1, "tgt": [[0, 10]], "a": "no idea"},
            ]
        )
    )
    out = tmp_path / "etb.json"
    assert main(["eval", "score", "--benchmark", "etbench", "--pred", str(etb), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["per_task"]["tvg"]["F1"] == 0.5
    # multiple choice: (B) right, "A" vs gt index 1 (= B) wrong, "hmm" -> no choice (failed, wrong)
    mcq = write_lines(
        tmp_path / "mcq.jsonl",
        [
            {"id": "1", "answer": "(B)", "gt": "B"},
            {"id": "2", "answer": "A", "gt": 1},
            {"id": "3", "answer": "hmm", "gt": "C"},
        ],
    )
    assert main(["eval", "score", "--benchmark", "mcq", "--pred", str(mcq), "--out", str(out)]) == 0
    m = json.loads(out.read_text())
    assert (m["correct"], m["total"], m["failed"]) == (1, 3, 1)
