"""The benchmark table (eval/benchmarks.py): every entry resolves, names are unique, predict / eval score / eval
report read it, and each convention's headline keys are the keys its scorer writes."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tempoforge.errors import UserError
from tempoforge.eval.benchmarks import (
    BENCHMARKS,
    NAMES,
    benchmark_help,
    conventions_epilog,
    find_benchmark,
    normalize_name,
    predict_names,
    resolve,
)
from tempoforge.eval.report import build_report, headline
from tempoforge.eval.score import ScoreResult, flatten_metrics, score


def test_every_entry_resolves_to_a_loader_and_a_scorer_that_take_what_score_passes() -> None:
    from tempoforge.eval import loaders
    from tempoforge.eval import score as score_module

    for b in BENCHMARKS.values():
        loader, scorer = resolve(b.loader), resolve(b.scorer)
        assert loader is getattr(loaders, b.loader.split(":")[1]), b.name
        assert scorer is b.load_scorer() is getattr(score_module, b.scorer.split(":")[1]), b.name
        params = inspect.signature(scorer).parameters
        positional = [p for p in params.values() if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "convention"]
        assert len(positional) == {"none": 1, "one": 2, "many": 2}[b.gt], b.name  # pred (, gt)
        assert ("convention" in params) == bool(b.choices), b.name
        assert set(b.options) <= set(params), b.name
        assert b.conventions and all(c.headline and c.help for c in b.conventions), b.name
    with pytest.raises(ModuleNotFoundError):
        resolve("tempoforge.eval.nope:f")


def test_names_are_unique_normalized_and_found_in_any_spelling() -> None:
    assert len(NAMES) == len(set(NAMES))  # an alias names one benchmark only
    assert all(normalize_name(n) == n for n in NAMES)
    assert all(b.name == key for key, b in BENCHMARKS.items())
    assert find_benchmark("Charades_STA").name == "charades-sta"
    assert find_benchmark(" YouCook2 ").name == "dense-captioning"
    assert find_benchmark("timechat_tvg") is BENCHMARKS["charades-sta"]
    with pytest.raises(UserError, match="unknown benchmark 'charades'; known: activitynet-captions, charades-sta"):
        find_benchmark("charades")


def test_predict_reads_the_table() -> None:
    from tempoforge.models.config import BENCHMARK_NAMES, PredictConfig
    from tempoforge.models.prompts import BENCHMARK_TASKS, TASKS, task_for_benchmark

    # predict takes exactly the names of the entries with a prompt task, its default first
    assert BENCHMARK_NAMES[0] == PredictConfig().benchmark == "grounding"
    assert set(BENCHMARK_NAMES) == set(predict_names()) == set(BENCHMARK_TASKS)
    assert {b.name for b in BENCHMARKS.values() if b.task is None} == {"etbench", "mcq"}
    assert all(b.task in TASKS for b in BENCHMARKS.values() if b.task is not None)
    assert task_for_benchmark("activitynet_captions") == "dense_captioning"
    with pytest.raises(UserError, match="predict cannot write mcq predictions"):
        task_for_benchmark("MCQ")


def test_help_and_epilog_are_generated_from_the_table() -> None:
    text = benchmark_help() + conventions_epilog()
    for b in BENCHMARKS.values():
        assert f"{b.name}: {b.help}" in text
        for c in b.conventions:
            assert c.name in text
    assert "tempoworld, timechat-tvg -> charades-sta" in text
    assert "    etchat         default. E.T.Chat" in conventions_epilog()


def test_importing_the_table_imports_nothing_heavy() -> None:
    code = ("import sys, tempoforge.eval.benchmarks as b; b.find_benchmark('youcook2'); "
            "print(sorted(m for m in ('numpy', 'torch', 'tempoforge.eval.score', 'tempoforge.eval.loaders') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _keys(result: ScoreResult) -> set[str]:
    return {k for k, _ in flatten_metrics(result.metrics)}


def test_headline_keys_are_the_keys_each_scorer_writes(datasets_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from tempoforge.eval.metrics.etbench import score_etbench

    checked: set[tuple[str, str]] = set()

    def check(name: str, result: ScoreResult, convention: str, keys: set[str]) -> None:
        checked.add((name, convention))
        conv = BENCHMARKS[name].convention(convention if BENCHMARKS[name].choices else None)
        missing = set(conv.headline) - keys
        # a key may only be missing when its metric is reported unavailable (None: SODA_c without Java)
        assert all(result.metrics.get(k.split("/")[0], 0) is None for k in missing), (name, convention, missing)

    preds = _jsonl(tmp_path / "g.jsonl", [{"id": "a", "gt": [0, 10], "answer": "The event happens from 0 - 10 s."},
                                          {"id": "b", "gt": [0, 10], "pred": [0, 5]}])
    for conv in BENCHMARKS["charades-sta"].choices:
        res = score("grounding", preds, convention=conv)
        check("charades-sta", res, conv, _keys(res))
    qv = datasets_dir / "annotations" / "qvhighlights"
    res = score("qvhighlights", qv / "sample_val_preds.jsonl", [qv / "highlight_val_release.jsonl"])
    check("qvhighlights", res, "moment_detr", _keys(res))
    ref = tmp_path / "ref.json"
    ref.write_text(json.dumps({"v1": {"duration": 30.0, "timestamps": [[0, 10]], "sentences": ["a man cuts bread"]}}))
    sub = tmp_path / "sub.json"
    sub.write_text(json.dumps({"results": {"v1": [{"timestamp": [0, 10], "sentence": "a man cuts bread"}]}}))
    monkeypatch.setenv("PATH", str(tmp_path))  # no java: METEOR and SODA_c unavailable, but in seconds
    res = score("youcook2", sub, [ref], tious=[0.5])
    check("dense-captioning", res, "densevid_eval", _keys(res))
    assert res.metrics["SODA_c"] is None and [k for k, _ in headline(res)] == [
        "F1/average", "METEOR/average", "CIDEr/average"]
    monkeypatch.undo()
    # E.T.Bench: the merged figures need every grounding (resp. captioning) task; captioning without SentSim
    tasks = [{"task": t, "source": "s", "tgt": [[0, 10]], "a": "0 - 10 seconds, a man cuts bread.", "video": t,
              "g": ["a man cuts bread"]} for t in ("tvg", "epm", "tal", "evs", "dvc", "slc")]
    tasks.append({"task": "vhd", "source": "s", "tgt": [[0, 10]], "a": "5"})
    etb = tmp_path / "etb.json"
    etb.write_text(json.dumps(tasks[:4] + tasks[6:]))
    res = score("etbench", etb)
    keys = {k for k, _ in flatten_metrics(score_etbench(tasks, caption_scorer=None, sentsim=None))}
    check("etbench", res, "compute_metrics", keys)
    assert [k for k, _ in headline(res)] == ["merged/F1 (gnd)"]  # the captioning tasks are absent there
    mcq = _jsonl(tmp_path / "m.jsonl", [{"id": "1", "answer": "(B)", "gt": "B"}])
    res = score("mcq", mcq)
    check("mcq", res, "mcq", _keys(res))
    vino = _jsonl(tmp_path / "v.jsonl", [{"id": "1", "text_pos": "A", "text_neg": "B", "video_pos": "A",
                                         "video_neg": "B"}])
    res = score("mcq", vino, convention="vinoground")
    check("mcq", res, "vinoground", _keys(res))
    # a new benchmark or convention gets its case here
    assert checked == {(b.name, c.name) for b in BENCHMARKS.values() for c in b.conventions}


def test_report_names_the_benchmark_and_its_headline(tmp_path: Path) -> None:
    # a: [0, 10] vs GT [0, 10] -> IoU 1; b: [0, 5] -> IoU 0.5. strict: R1@0.3 = R1@0.5 = 1, R1@0.7 = 0.5, mIoU 0.75
    preds = _jsonl(tmp_path / "g.jsonl", [{"id": "a", "gt": [0, 10], "answer": "0 - 10"},
                                          {"id": "b", "gt": [0, 10], "pred": [0, 5]}])
    res = score("tempoworld", preds, convention="strict")
    assert headline(res) == [("R1@0.3", 1.0), ("R1@0.5", 1.0), ("R1@0.7", 0.5), ("mIoU", 0.75)]
    page = build_report(res)
    assert "tempoforge eval report: charades-sta (single-moment grounding (Charades-STA style))" in page
    assert "R1@0.7 <b>0.5</b>" in page
    assert headline(ScoreResult("my-own", {"x": 1})) == []  # a result of the caller's own has none
    assert "tempoforge eval report: my-own</title>" in build_report(ScoreResult("my-own", {"x": 1}))


def test_score_refuses_options_and_gt_counts_the_entry_does_not_take(tmp_path: Path) -> None:
    preds = _jsonl(tmp_path / "g.jsonl", [{"id": "a", "gt": [0, 10], "answer": "0 - 10"}])
    with pytest.raises(UserError, match="charades-sta takes no option tious"):
        score("charades-sta", preds, tious=[0.5])
    with pytest.raises(UserError, match="qvhighlights needs exactly one --gt file"):
        score("qvhighlights", preds, [preds, preds])


def test_each_loader_reads_its_benchmarks_annotation_file(datasets_dir: Path, tmp_path: Path) -> None:
    from tempoforge.records import DenseCaptionSample, GroundingSample

    ann = datasets_dir / "annotations"
    sta = BENCHMARKS["charades-sta"].load_annotations(ann / "charades_sta" / "charades_sta_test.txt")
    assert len(sta) == 3720 and isinstance(sta[0], GroundingSample)  # the Charades-STA test split
    qvh = BENCHMARKS["qvhighlights"].load_annotations(ann / "qvhighlights" / "highlight_val_release.jsonl")
    assert isinstance(qvh[0], GroundingSample) and qvh[0].source == "qvhighlights"
    yc2 = find_benchmark("youcook2").load_annotations(ann / "youcook2" / "yc2_val.json", source="youcook2")
    assert isinstance(yc2[0], DenseCaptionSample) and yc2[0].source == "youcook2"
    etb = tmp_path / "etb.json"
    etb.write_text(json.dumps([{"task": "tvg", "source": "s", "tgt": [0, 1]}]))
    assert BENCHMARKS["etbench"].load_annotations(etb)[0]["task"] == "tvg"
    rows = _jsonl(tmp_path / "m.jsonl", [{"id": "1", "gt": "B"}])
    assert BENCHMARKS["mcq"].load_annotations(rows) == [(1, {"id": "1", "gt": "B"})]
