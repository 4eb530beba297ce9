"""The bad-video corpus (``corpus.py``) through ``video probe``, ``curate`` and ``predict``: 0 crashes, 0 lost
records, every outcome the expected clear error, warning or result; the videos themselves are never changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reliability.corpus import BAD_VIDEOS, make_corpus
from tempoforge.cli import main

# name -> None (probes fine) or the reason `video probe` gives, after "tempoforge: error: <path>: "
PROBE_ERRORS: dict[str, str | None] = {
    "empty.mp4": "file is empty (0 bytes)",
    "text.mp4": "not a video (unrecognised or corrupt data)",
    "truncated_noindex.mp4": "MP4 without its index (moov atom not found): truncated or unfinished file",
    "audio_only.mp4": "no video stream (streams: audio)",
    "zero_frames.mkv": "the file ends right after its header: no frames (empty or cut before its first frame)",
    "truncated_index.mp4": None, "truncated.mkv": None, "huge_dims.mkv": None, "huge_header.mkv": None,
    "odd_size.mkv": None, "one_pixel.mkv": None, "size_change.ts": None, "rotated.mp4": None, "vfr.mkv": None,
    "good.mp4": None,
}
# videos whose frames cannot be decoded although their headers read fine
UNDECODABLE = {"huge_dims.mkv"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reliability") / "videos"
    videos = make_corpus(folder)
    assert set(videos) == {*BAD_VIDEOS, "good.mp4"} == set(PROBE_ERRORS)
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_video_probe(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, error in PROBE_ERRORS.items():
        path = corpus / name
        rc = main(["video", "probe", str(path)])
        out, err = capsys.readouterr()
        if error is not None:
            assert (rc, err) == (2, f"tempoforge: error: {path}: {error}\n"), name
            continue
        assert rc == 0, (name, err)
        info = json.loads(out)
        if info["truncated"]:  # the short duration never comes without the flag and a warning line
            assert name.startswith("truncated") and info["declared_duration"] == 4.0
            assert err.startswith(f"warning: {path}: file is truncated: only the first "), err
        else:
            assert err == "", (name, err)
    infos = {}
    for name in ("odd_size.mkv", "one_pixel.mkv", "rotated.mp4", "vfr.mkv", "huge_header.mkv"):
        main(["video", "probe", str(corpus / name)])
        infos[name] = json.loads(capsys.readouterr().out)
    assert (infos["odd_size.mkv"]["width"], infos["odd_size.mkv"]["height"]) == (97, 63)
    assert (infos["one_pixel.mkv"]["width"], infos["one_pixel.mkv"]["height"]) == (1, 1)
    assert infos["rotated.mp4"]["rotation"] == 90 and infos["vfr.mkv"]["variable_fps"] is True
    assert infos["huge_header.mkv"]["width"] == 320  # the stream's own size, not the 65520 the header declares


def test_curate_keeps_or_rejects_every_video_with_a_reason(corpus: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(corpus)
    out = tmp_path / "out"
    assert main(["-q", "curate", "--in", str(corpus), "--out", str(out), "--config", "tempura",
                 "--static-min-change", "0"]) == 0
    kept, rejected = _rows(out / "kept.jsonl"), _rows(out / "rejected.jsonl")
    ids = sorted(r["id"] for r in kept + rejected)
    assert ids == sorted(PROBE_ERRORS)  # 0 lost, none twice
    by_id = {r["id"]: r for r in rejected}
    for name, error in PROBE_ERRORS.items():
        if error is not None:
            assert (by_id[name]["step"], by_id[name]["reason"]) == ("probe", f"the video cannot be used: {error}")
    assert by_id["huge_dims.mkv"]["step"] == "signals"
    assert by_id["huge_dims.mkv"]["reason"].startswith("the video cannot be used: decoding failed")
    assert set(by_id) == {n for n, e in PROBE_ERRORS.items() if e is not None} | UNDECODABLE
    assert not any("failed unexpectedly" in r["reason"] for r in rejected)  # 0 crashes
    warned = {r["id"]: r["warnings"] for r in kept if r["warnings"]}
    assert sorted(warned) == ["truncated.mkv", "truncated_index.mp4"]
    # the size-changing stream was analysed at one size over its whole length (it crashed OpenCV before)
    size_change = next(r for r in kept if r["id"] == "size_change.ts")
    assert size_change["frames"][-1]["time"] > 3.0
    assert "curate: 2 kept videos have warnings" in capsys.readouterr().err
    assert _snapshot(corpus) == before


def test_predict_writes_one_prediction_per_sample(corpus: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(corpus)
    model = tmp_path / "tiny"
    assert main(["-q", "models", "tiny", "--family", "qwen2_5_vl", "--out", str(model)]) == 0
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"id": name, "video": str(corpus / name), "query": "the red square",
                                        "spans": [[0.0, 1.0]]}) + "\n" for name in sorted(PROBE_ERRORS)))
    preds = tmp_path / "preds.jsonl"
    assert main(["-q", "predict", "--model", str(model), "--data", str(data), "--out", str(preds), "--fps", "2",
                 "--max-frames", "4", "--max-new-tokens", "4"]) == 0
    rows = {r["id"]: r for r in _rows(preds)}
    assert sorted(rows) == sorted(PROBE_ERRORS)  # 0 lost
    failed = {n for n, r in rows.items() if "error" in r["meta"]}
    assert failed == {n for n, e in PROBE_ERRORS.items() if e is not None} | UNDECODABLE
    for name in failed:
        assert rows[name]["answer"] == "" and rows[name]["meta"]["error"].startswith(f"{corpus / name}: ")
    for name in set(rows) - failed:
        assert rows[name]["frame_times"], name  # the model saw frames with their times
    assert any("file is truncated" in w for w in rows["truncated.mkv"]["meta"]["warnings"])
    # and the predictions score, with the failures reported instead of silently counted
    assert main(["eval", "score", "--benchmark", rows["good.mp4"]["benchmark"], "--pred", str(preds)]) == 0
    # 5 unreadable + 1 undecodable = 6 answers missing, each with the error predict recorded
    assert "warning: 6 predictions have no answer (lines 1, 2, 3, 9, 13 and 1 more): scored as failures; 6 of them" \
        in capsys.readouterr().out
    assert _snapshot(corpus) == before
