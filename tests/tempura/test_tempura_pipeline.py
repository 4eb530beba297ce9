"""VER pipeline end to end on a tiny TempoWorld: oracle, loopback OpenAI server, tiny hf teacher; resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tempoforge.io.jsonl import read_jsonl
from tempoforge.synth.teachers.base import TeacherError, TeacherSettings
from tempoforge.synth.tempura_samples import TempuraSample, parse_dense_answer
from tempoforge.synth.ver import TempuraSynthConfig, masked_choice, run_ver
from tempoforge.world import load_world


def _cfg(world: Path, out: Path, **kw: object) -> TempuraSynthConfig:
    # TempoWorld is encoded losslessly, so a video changes only where something moves: a small object's slow
    # action changes the picture by < 1 level per frame (the default threshold allows for real videos' codec noise)
    kw.setdefault("static_min_change", 0.25)
    return TempuraSynthConfig(input=world, out=out, **kw)  # type: ignore[arg-type]


def _outputs(out: Path) -> dict[str, str]:
    return {n: (out / n).read_text() for n in ("samples.jsonl", "dense.jsonl", "rejected.jsonl", "stats.json")}


def test_oracle_end_to_end(tiny_world, tmp_path):
    stats = run_ver(_cfg(tiny_world, tmp_path / "ver"), progress=False)
    world = load_world(tiny_world)
    causal = [s for s in world.scripts if s.causal and len(s.segments) >= 3]
    assert stats["videos"] == 6 and stats["kept"] == 6  # TempoWorld videos move: none is static
    assert stats["samples"] == {"dense": 6, "masked": len(causal)}
    samples = list(read_jsonl(tmp_path / "ver" / "samples.jsonl", TempuraSample))
    for s in samples:
        script = world.script(s.id.split("/")[0])
        if s.task == "dense":
            assert parse_dense_answer(s.answer) == [(g.start, g.end, g.caption.rstrip(".")) for g in script.segments]
        else:
            assert s.mask is not None and script.causal
            j = int(s.id.rsplit("masked", 1)[1])
            seg = script.segments[j]
            assert (s.mask.start, s.mask.end) == (seg.start, seg.end) and 0 < j < len(script.segments) - 1
            assert s.prompt.startswith(f"Given the input video with the masked segment from {seg.start:.1f} to {seg.end:.1f}")
            assert re.fullmatch(r"<think>.+</think><answer>So the description of the predicted event from "
                                rf"{seg.start:.1f} to {seg.end:.1f} is: {re.escape(seg.caption.rstrip('.'))}</answer>",
                                s.answer, re.S)
    rejected = [json.loads(x) for x in (tmp_path / "ver" / "rejected.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in rejected) == sorted(s.id for s in world.scripts if not s.causal)
    assert {(r["step"], r["code"]) for r in rejected} == {("coherence", "incoherent")}


def test_masked_choice_is_seeded_by_id():
    cfg = TempuraSynthConfig(masked_per_video=2)
    a = masked_choice("tw00001", 6, cfg)
    assert a == masked_choice("tw00001", 6, cfg) and len(a) == 2 and all(0 < i < 5 for i in a)
    assert masked_choice("tw00001", 2, cfg) == []  # no interior event


def test_static_and_categorize_rejections(tiny_world, tmp_path):
    # a static threshold above every video's motion drops them all at 'static'
    stats = run_ver(_cfg(tiny_world, tmp_path / "a", static_min_change=1e9, limit=2), progress=False)
    assert stats["kept"] == 0 and stats["steps"][0]["by_code"] == {"static": 2}
    # 'animation' excluded -> all dropped at 'categorize'
    stats = run_ver(_cfg(tiny_world, tmp_path / "b", excluded_categories=["animation"], limit=2), progress=False)
    assert stats["steps"][1]["by_code"] == {"excluded": 2}
    row = json.loads((tmp_path / "b" / "rejected.jsonl").read_text().splitlines()[0])
    assert row["step"] == "categorize" and "animation" in row["reason"]


class _Crash(Exception):
    pass


def test_resume_after_crash_equals_uninterrupted(tiny_world, tmp_path):
    ref = tmp_path / "ref"
    run_ver(_cfg(tiny_world, ref), progress=False)
    out = tmp_path / "resumed"
    calls = {"n": 0}

    def crash_after_three(rec: dict) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise _Crash

    with pytest.raises(_Crash):
        run_ver(_cfg(tiny_world, out), progress=False, on_result=crash_after_three)
    assert len((out / "videos.jsonl").read_text().splitlines()) == 3
    with (out / "videos.jsonl").open("a") as fh:  # a write cut in the middle by the crash
        fh.write('{"id": "tw00003", "video": "x", "sta')
    seen: list[str] = []
    run_ver(_cfg(tiny_world, out), progress=False, on_result=lambda r: seen.append(r["id"]))
    assert seen == ["tw00003", "tw00004", "tw00005"]  # done ids skipped, the torn line redone
    assert _outputs(out) == _outputs(ref)


def test_kill_and_rerun(tiny_world, tmp_path):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "tempoforge.cli", "synth", "tempura", "--in", str(tiny_world), "--out", str(out),
           "--teacher", "oracle", "--static-min-change", "0.25", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        p = out / "videos.jsonl"
        if p.exists() and p.read_text().count("\n") >= 2:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait(30)
    done_before = (out / "videos.jsonl").read_text().count("\n")
    assert done_before >= 2
    ref = tmp_path / "ref"
    run_ver(_cfg(tiny_world, ref), progress=False)
    seen: list[str] = []
    run_ver(_cfg(tiny_world, out), progress=False, on_result=lambda r: seen.append(r["id"]))
    assert len(seen) == 6 - done_before
    assert _outputs(out) == _outputs(ref)


def test_resume_with_other_settings_is_refused(tiny_world, tmp_path):
    from tempoforge.errors import UserError

    run_ver(_cfg(tiny_world, tmp_path / "o", limit=1), progress=False)
    with pytest.raises(UserError, match="other settings"):
        run_ver(_cfg(tiny_world, tmp_path / "o", tolerance=0.5), progress=False)


def _fake_vlm(body: dict) -> str:
    """A teacher that segments in 1 s too-long pieces (repairable slips) and answers everything else."""
    text = body["messages"][0]["content"][-1]["text"]
    if "Classify this video" in text:
        return '{"category": "Animation", "reasoning": "shapes"}'
    if "Partition the whole video" in text:
        d = float(re.search(r"of a ([\d.]+)-second video", text).group(1))
        half = round(d / 2, 1)
        return json.dumps({"events": [{"start": 0, "end": half + 0.3, "description": "a shape appears"},
                                      {"start": half, "end": d * 0.75, "description": "it moves"},
                                      {"start": d * 0.75, "end": d + 0.5, "description": "it stops"}]})
    if "causally or logically related" in text:
        return '```json\n{"reasoning": "one object throughout", "coherent": "yes"}\n```'
    return '{"reasoning": "it appeared, then stopped, so it moved", "description": "it moves"}'


def test_openai_teacher_end_to_end_and_cached_rerun(api, tiny_world, tmp_path):
    url, srv = api
    srv.default = _fake_vlm
    teacher = TeacherSettings(backend="openai", base_url=url, model="fake", backoff=0.01, concurrency=2)
    cfg = _cfg(tiny_world, tmp_path / "api", teacher=teacher, limit=3, workers=2)
    stats = run_ver(cfg, progress=False)
    assert stats["kept"] == 3 and stats["samples"] == {"dense": 3, "masked": 3}
    assert stats["repaired"] == {"closed_overlap": 3, "clamped_end": 3}
    assert len(srv.requests) == 3 * 4  # categorize, segment, coherence, masked per video
    dense = [s for s in read_jsonl(tmp_path / "api" / "samples.jsonl", TempuraSample) if s.task == "dense"]
    assert dense[0].answer.splitlines()[0].startswith("From 0.0 to ")
    # the same run again from scratch: every reply comes from the cache
    (tmp_path / "api" / "videos.jsonl").unlink()
    assert run_ver(cfg, progress=False) == stats and len(srv.requests) == 12


def test_teacher_failures_are_rejections_not_crashes(api, tiny_world, tmp_path):
    url, srv = api
    srv.default = "sorry, I cannot help with that"
    teacher = TeacherSettings(backend="openai", base_url=url, model="fake", backoff=0.01)
    stats = run_ver(_cfg(tiny_world, tmp_path / "bad", teacher=teacher, limit=2), progress=False)
    assert stats["kept"] == 0 and stats["steps"][1]["by_code"] == {"malformed": 2}


def test_hf_tiny_teacher_runs_end_to_end(tiny_world, tmp_path):
    from tempoforge.models.tiny import build_tiny
    from tempoforge.synth.teachers.hf import HFTeacher

    teacher = HFTeacher(build_tiny("qwen2_5_vl"), max_new_tokens=24, max_frames=8)
    stats = run_ver(_cfg(tiny_world, tmp_path / "hf", limit=2), teacher=teacher, progress=False)
    # a random tiny model does not answer in JSON: both videos are rejected at 'categorize', with the reason
    assert stats["videos"] == 2 and stats["steps"][1]["by_code"] == {"malformed": 2}
    row = json.loads((tmp_path / "hf" / "rejected.jsonl").read_text().splitlines()[0])
    assert "no JSON object" in row["reason"]
    # the text-only path (coherence, masked event) generates too, and its reply is parsed the same way
    assert isinstance(teacher.ask("Are these events related?", None), str)
    with pytest.raises(TeacherError) as err:
        teacher.coherence(teacher_video("tw00000"), [])
    assert err.value.code == "malformed"


def teacher_video(vid: str):
    from tempoforge.synth.teachers.base import TeacherVideo

    return TeacherVideo(vid, "unused.mp4", 10.0)


def test_curated_folder_input_reuses_curation_grids(tiny_world, tmp_path):
    from tempoforge.curate.config import TEMPURA_STEPS, CurateConfig
    from tempoforge.curate.pipeline import curate
    from tempoforge.synth.ver import _teacher_video, list_videos

    cur = tmp_path / "curated"
    curate(tiny_world / "videos", cur, CurateConfig(steps=list(TEMPURA_STEPS), grid_tiles=8, static_min_change=0.25),
           progress=False)
    items, world = list_videos(cur)
    assert world is None and items and items[0].id == "tw00000" and items[0].grids
    grids = _teacher_video(items[0], TempuraSynthConfig()).grids()
    assert len(grids) == len(items[0].grids) and grids[0].ndim == 3  # the curated JPEGs, not recomputed
    stats = run_ver(TempuraSynthConfig(input=cur, out=tmp_path / "ver", world=tiny_world, limit=2, static_min_change=0.25),
                    progress=False)
    assert stats["videos"] == 2 and stats["kept"] == 2  # oracle via --world; static filter from mean_change


def test_cli_parses_teacher_flags_and_yaml(tmp_path):
    from tempoforge.cli import build_parser
    from tempoforge.errors import UserError
    from tempoforge.synth.tempura import config_from_args, main

    preset = tmp_path / "p.yaml"
    preset.write_text("tolerance: 0.5\nteacher:\n  backend: openai\n  model: m\n  timeout: 9\n")
    args = build_parser().parse_args(["synth", "tempura", "--config", str(preset), "--in", str(tmp_path / "nowhere"),
                                      "--out", str(tmp_path / "o"), "--teacher", "oracle", "--timeout", "3"])
    cfg = config_from_args(args)
    # defaults < YAML < flags, for the nested teacher settings too
    assert (cfg.tolerance, cfg.teacher.backend, cfg.teacher.model, cfg.teacher.timeout) == (0.5, "oracle", "m", 3.0)
    assert cfg.input == tmp_path / "nowhere" and cfg.masked_per_video == 1
    with pytest.raises(UserError, match="neither a TempoWorld folder"):
        main(args)
    assert not (tmp_path / "o" / "config.json").exists()  # nothing written before the input is understood
