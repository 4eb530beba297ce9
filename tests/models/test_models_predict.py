"""``predict`` end to end on a synthetic video for all three tiny families, resuming, scoring; the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tempoforge.cli import main
from tempoforge.errors import UserError
from tempoforge.models.predict import PredictConfig, done_ids, predict
from tempoforge.records import DenseCaptionSample, Event, GroundingSample, Span


def write_data(folder: Path, video: Path, n: int = 3) -> Path:
    """``n`` grounding samples on ``video`` (relative path), plus one on a missing video."""
    rel = Path("videos") / video.name
    (folder / "videos").mkdir(parents=True, exist_ok=True)
    target = folder / rel
    if not target.exists():
        target.write_bytes(video.read_bytes())
    rows = [GroundingSample(id=f"q{i}", video=str(rel), query=f"the square reaches position {i}",
                            duration=6.0, spans=[Span.of(i, i + 2.0)]) for i in range(n)]
    rows.append(GroundingSample(id="broken", video="videos/missing.mp4", query="x", duration=6.0,
                                spans=[Span.of(0, 1)]))
    data = folder / "data.jsonl"
    data.write_text("".join(json.dumps(r.to_json_dict()) + "\n" for r in rows))
    return data


@pytest.mark.parametrize("strategy", ["mrope", "text"])
def test_predict_end_to_end_resume_and_score(tiny, synthetic_video: Path, tmp_path: Path, strategy: str) -> None:  # type: ignore[no-untyped-def]
    data = write_data(tmp_path, synthetic_video)
    out = tmp_path / "preds.jsonl"
    cfg = PredictConfig(benchmark="charades_sta", data=data, out=out, batch_size=2, fps=2.0, max_frames=8,
                        timestamps=strategy, max_new_tokens=6, limit=3)
    assert predict(cfg, lm=tiny, quiet=True) == 3
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["id"] for x in lines] == ["q0", "q1", "q2"]
    first = lines[0]
    assert first["benchmark"] == "charades-sta" and first["timestamps"] == strategy
    assert first["gt"] == [[0.0, 2.0]] and first["duration"] == 6.0
    assert first["video"] == "videos/square.mp4" and first["query"] == "the square reaches position 0"
    # 6 s at 2 fps = 12 frames, capped at 8 spread over the whole video: the last frame is near the end
    times = first["frame_times"]
    assert len(times) == 8 and times[0] < 0.5 and times[-1] >= 5.0
    assert any("max_frames=8" in w for w in first["meta"]["warnings"])
    assert isinstance(first["answer"], str)
    # resumable: nothing new for the same limit; the rest (incl. the broken video) on a full run
    assert predict(cfg, lm=tiny, quiet=True) == 0
    cfg.limit = None
    assert predict(cfg, lm=tiny, quiet=True) == 1
    broken = json.loads(out.read_text().splitlines()[-1])
    assert broken["id"] == "broken" and broken["answer"] == "" and "missing.mp4" in broken["meta"]["error"]
    assert done_ids(out) == {"q0", "q1", "q2", "broken"}
    # the file scores with the evaluation stage (random tiny model: the numbers are whatever they are,
    # but every query is in the denominator)
    from tempoforge.eval.score import score_grounding_file

    result = score_grounding_file(out)
    assert result.metrics


def test_predict_with_saa_frame_selection(tiny_models: dict, synthetic_video: Path, tmp_path: Path) -> None:
    """``--selection saa`` feeds the model the frames SAA picks (same budget), with their true times."""
    from tempoforge.io import sample
    from tempoforge.models.saa import saa_frames

    data = write_data(tmp_path, synthetic_video, n=1)
    out = tmp_path / "saa.jsonl"
    lm = next(iter(tiny_models.values()))
    cfg = PredictConfig(benchmark="charades_sta", data=data, out=out, fps=2.0, max_frames=8, max_new_tokens=4,
                        limit=1, selection="saa")
    assert predict(cfg, lm=lm, quiet=True) == 1
    line = json.loads(out.read_text().splitlines()[0])
    expected = saa_frames(tmp_path / "videos" / synthetic_video.name, fps=2.0, max_frames=8).times
    uniform = sample(tmp_path / "videos" / synthetic_video.name, fps=2.0, max_frames=8).times
    assert line["meta"]["selection"] == "saa"
    assert line["frame_times"] == pytest.approx(expected.tolist()) and len(expected) == len(uniform) == 8
    with pytest.raises(UserError, match="unknown --selection"):
        predict(PredictConfig(data=data, out=tmp_path / "x.jsonl", selection="best"), lm=lm, quiet=True)


def test_predict_dense_captioning_reads_dense_samples(tiny_models: dict, synthetic_video: Path, tmp_path: Path) -> None:
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "a.mp4").write_bytes(synthetic_video.read_bytes())
    s = DenseCaptionSample(id="d0", video="v/a.mp4", duration=6.0,
                           events=[Event(span=Span.of(0, 3), caption="moves"), Event(span=Span.of(3, 6), caption="stops")])
    data = tmp_path / "dense.jsonl"
    data.write_text(json.dumps(s.to_json_dict()) + "\n")
    out = tmp_path / "p.jsonl"
    cfg = PredictConfig(benchmark="youcook2", data=data, out=out, fps=1.0, max_new_tokens=4, timestamps="overlay")
    assert predict(cfg, lm=tiny_models["qwen3_vl"], quiet=True) == 1
    row = json.loads(out.read_text())
    assert row["gt"] == [[0.0, 3.0], [3.0, 6.0]] and row["meta"]["gt_captions"] == ["moves", "stops"]
    assert row["benchmark"] == "youcook2" and row["timestamps"] == "overlay"


def test_done_ids_ignores_a_torn_last_line_and_refuses_garbage(tmp_path: Path) -> None:
    out = tmp_path / "p.jsonl"
    out.write_text('{"id": "a"}\n{"id": "b"}\n{"id": "c", "ans')
    assert done_ids(out) == {"a", "b"}
    out.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(UserError, match=r"p.jsonl:2"):
        done_ids(out)


def test_bad_inputs_are_user_errors(tmp_path: Path, tiny_models: dict) -> None:
    with pytest.raises(UserError, match="needs --model, --data and --out"):
        predict(PredictConfig(), quiet=True)
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "a", "video": "v.mp4", "query": "q", "spans": [[3, 1]]}\n')
    cfg = PredictConfig(data=data, out=tmp_path / "o.jsonl")
    with pytest.raises(ValueError, match=r"d.jsonl:1"):
        predict(cfg, lm=tiny_models["qwen2_vl"], quiet=True)
    with pytest.raises(UserError, match="unknown timestamp strategy"):
        predict(PredictConfig(data=data, out=tmp_path / "o.jsonl", timestamps="abs"), lm=tiny_models["qwen2_vl"])


def test_cli_predict_and_doctor(tiny_dirs: dict, synthetic_video: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    data = write_data(tmp_path, synthetic_video, n=1)
    out = tmp_path / "cli.jsonl"
    rc = main(["-q", "predict", "--model", str(tiny_dirs["qwen2_5_vl"]), "--benchmark", "charades-sta",
               "--data", str(data), "--out", str(out), "--limit", "1", "--batch-size", "1", "--fps", "1",
               "--max-frames", "4", "--timestamps", "frames-as-images", "--max-new-tokens", "3"])
    assert rc == 0
    row = json.loads(out.read_text())
    assert row["timestamps"] == "frames-as-images" and row["model"] == str(tiny_dirs["qwen2_5_vl"])
    assert len(row["frame_times"]) == 4
    capsys.readouterr()
    rc = main(["doctor", "--model", str(tiny_dirs["qwen2_5_vl"]), "--video", str(synthetic_video), "--fps", "1"])
    text = capsys.readouterr().out
    assert rc == 0
    assert "[  OK] video" in text and "6.00 s" in text
    # 6 frames at 1 fps -> 3 groups starting 0, 2, 4 s -> offsets 0, 4, 8 (tokens_per_second 2)
    assert "mrope: temporal ids" in text and "0.0s->" in text
    assert "mrope: text after video" in text and "[WARN]" in text
    assert "torchvision" in text and "java" in text
    assert main(["doctor", "--model", str(tmp_path)]) == 1  # not a checkpoint: a failed check, exit 1
    assert "no config.json" in capsys.readouterr().out


def test_cli_help_explains_flags(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    text = capsys.readouterr().out
    for flag in ("--model", "--benchmark", "--data", "--out", "--limit", "--batch-size", "--fps", "--max-frames",
                 "--timestamps"):
        assert flag in text
    assert "resumes" in text


def test_shipped_presets_load_and_tiny_cli(tmp_path: Path, synthetic_video: Path) -> None:
    from tempoforge.config import load_config

    root = Path(__file__).resolve().parents[2] / "configs" / "models"
    presets = sorted(root.glob("*.yaml"))
    assert len(presets) >= 2
    for p in presets:
        cfg = load_config(PredictConfig, p)
        assert cfg.timestamps in ("mrope", "text", "overlay", "frames-as-images")
    assert main(["-q", "models", "tiny", "--family", "qwen3_vl", "--out", str(tmp_path / "m")]) == 0
    data = write_data(tmp_path, synthetic_video, n=1)
    assert main(["-q", "predict", "--config", str(root / "predict-tiny.yaml"), "--model", str(tmp_path / "m"),
                 "--data", str(data), "--out", str(tmp_path / "p.jsonl"), "--limit", "1"]) == 0
    row = json.loads((tmp_path / "p.jsonl").read_text())
    assert row["benchmark"] == "tempoworld" and len(row["frame_times"]) == 6  # 6 s at 1 fps


def test_predict_on_tempoworld_then_score(tiny_models: dict, tmp_path: Path) -> None:
    """TempoWorld's own exports (video paths relative to the annotation folder) predict and score."""
    from tempoforge.eval.score import score_grounding_file
    from tempoforge.world.config import preset_config
    from tempoforge.world.generate import generate_world

    generate_world(tmp_path / "world", 1, seed=0, config=preset_config("tiny"), progress=False)
    ann = tmp_path / "world" / "annotations"
    out = tmp_path / "preds.jsonl"
    cfg = PredictConfig(benchmark="tempoworld", data=ann / "grounding.jsonl", out=out, fps=1.0, max_frames=16,
                        max_new_tokens=8, limit=2)
    assert predict(cfg, lm=tiny_models["qwen2_5_vl"], quiet=True) == 2
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    for r in rows:
        assert "error" not in r["meta"] and r["frame_times"][0] < 1.0
        assert r["frame_times"][-1] >= r["duration"] - 1.0  # the frames reach the end of the video
    metrics = score_grounding_file(out).metrics
    assert metrics


def test_doctor_flags_fps_above_mrope_resolution(tiny_models: dict) -> None:
    from tempoforge.models.doctor import check_model, format_report

    lm = tiny_models["qwen2_5_vl"]
    text = format_report(check_model(lm, None, 8.0, ["mrope"]))
    assert "share a temporal position" in text and "at most 4 fps" in text
    # 8 fps: groups 0.25 s apart, tokens_per_second 2 -> ids repeat: 0.0s and 0.2s both at the first id
    assert re.search(r"0\.0s->(\d+), 0\.2s->\1, 0\.5s->(\d+), 0\.8s->\2,", text)
    ok = format_report(check_model(lm, None, 2.0, ["mrope"]))
    assert "share a temporal position" not in ok
    qwen2 = format_report(check_model(tiny_models["qwen2_vl"], None, 1.0, ["mrope"]))
    assert "frame-group index (no notion of seconds" in qwen2
