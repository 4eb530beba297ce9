"""``models/video.py``: one path from a video to frames for training and prediction (one frame-cap default,
one list of selections, one validation), and the prompt cut of ``models/logps.py``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from tempoforge.errors import UserError
from tempoforge.models import video as video_module
from tempoforge.models.config import PredictConfig
from tempoforge.models.video import (
    MAX_FRAMES,
    SELECTIONS,
    FrameCache,
    VideoSettings,
    load_frames,
    resolve_video,
)
from tempoforge.records import GroundingSample, Span


def _field(cls: type, name: str) -> dataclasses.Field:  # type: ignore[type-arg]
    return {f.name: f for f in dataclasses.fields(cls)}[name]


def test_training_and_prediction_share_the_defaults_and_choices() -> None:
    assert MAX_FRAMES == 64
    assert VideoSettings().max_frames == PredictConfig().max_frames == 64
    assert _field(VideoSettings, "selection").metadata["choices"] == SELECTIONS == ("uniform", "saa")
    assert _field(PredictConfig, "selection").metadata["choices"] == SELECTIONS
    assert VideoSettings().saa_floor == PredictConfig().saa_floor and VideoSettings().fps == PredictConfig().fps


def test_predict_flags_become_the_training_settings() -> None:
    cfg = PredictConfig(fps=2.0, max_frames=8, timestamps="text", selection="saa", saa_floor=0.5, blank=True,
                        max_pixels=28 * 28)
    assert cfg.video_settings() == VideoSettings(fps=2.0, max_frames=8, max_pixels=784, strategy="text",
                                                 selection="saa", saa_floor=0.5, blank=True)


def test_an_unknown_selection_is_a_user_error_naming_the_flag() -> None:
    with pytest.raises(UserError, match=r"unknown --selection 'best' \(frame selection\); choose uniform or saa"):
        VideoSettings(selection="best")
    with pytest.raises(UserError, match="unknown --selection 'random'"):
        PredictConfig(selection="random").video_settings()


def test_resolve_video_is_relative_to_the_data_folder(tmp_path: Path) -> None:
    assert resolve_video("videos/a.mp4", tmp_path) == str(tmp_path / "videos" / "a.mp4")
    assert resolve_video("/abs/a.mp4", tmp_path) == "/abs/a.mp4"
    assert resolve_video("videos/a.mp4", None) == "videos/a.mp4"


def test_blank_frames_keep_count_times_size_and_warnings(synthetic_video: Path) -> None:
    # 6 s at 2 fps = 12 frames, capped at 5: the cap is spread over the video and a warning says so
    seen = load_frames(synthetic_video, VideoSettings(fps=2.0, max_frames=5))
    blank = load_frames(synthetic_video, VideoSettings(fps=2.0, max_frames=5, blank=True))
    assert len(seen) == 5 and any("max_frames=5" in w for w in seen.warnings)
    assert blank.data.shape == seen.data.shape and np.array_equal(blank.times, seen.times)
    assert blank.warnings == seen.warnings
    assert int(blank.data.min()) == int(blank.data.max()) == 128 and int(seen.data.max()) == 255


def test_predict_decodes_through_the_training_path(tiny_models: dict, synthetic_video: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Two queries on one video decode it once (the shared cache), at most ``max_pixels`` large, with the
    frame times training would see."""
    from tempoforge.models.predict import predict

    cache = FrameCache(max_bytes=10**8)
    monkeypatch.setattr(video_module, "FRAME_CACHE", cache)
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "a.mp4").write_bytes(synthetic_video.read_bytes())
    rows = [GroundingSample(id=f"q{i}", video="v/a.mp4", query="the square moves", duration=6.0,
                            spans=[Span.of(1, 3)]) for i in range(2)]
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r.to_json_dict()) + "\n" for r in rows))
    cfg = PredictConfig(data=data, out=tmp_path / "p.jsonl", fps=1.0, max_frames=4, max_new_tokens=2,
                        max_pixels=32 * 32)
    assert predict(cfg, lm=next(iter(tiny_models.values())), quiet=True) == 2
    assert (cache.misses, cache.hits, len(cache)) == (1, 1, 1)
    # 96x64 capped at 1024 pixels keeps the aspect: about 39x26
    (frames,) = cache._entries.values()
    assert frames.data.shape[1] * frames.data.shape[2] <= 32 * 32 and frames.data.shape[2] > frames.data.shape[1]
    training = load_frames(tmp_path / "v" / "a.mp4", cfg.video_settings())
    lines = [json.loads(x) for x in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert all(x["frame_times"] == pytest.approx(training.times.tolist()) for x in lines)


def test_truncate_to_prompt_keeps_the_prompt_and_the_video() -> None:
    from tempoforge.models.inputs import build_example
    from tempoforge.models.logps import truncate_to_prompt
    from tempoforge.models.tiny import build_tiny
    from tempoforge.records import Frames

    lm = build_tiny("qwen2_5_vl", seed=0)
    frames = Frames(np.zeros((4, 56, 56, 3), np.uint8), np.arange(4.0))
    ex = build_example(lm, "When?", frames, "mrope", answer="From 1 to 2.")
    cut = truncate_to_prompt(ex)
    p = ex.prompt_length
    assert 0 < p < len(ex.input_ids) and cut.prompt_length == p and cut.labels is None
    assert cut.input_ids.tolist() == ex.input_ids[:p].tolist() and cut.position_ids.shape == (3, p)
    assert cut.pixel_values_videos is ex.pixel_values_videos and cut.frame_times == ex.frame_times
