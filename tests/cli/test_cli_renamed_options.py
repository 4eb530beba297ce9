"""A renamed option keeps working under its old name, with a warning: ``video.strategy`` is ``video.timestamps``."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from tempoforge.config import ConfigError, load_config
from tempoforge.models.video import VideoSettings
from tempoforge.train.recipes.tempo_r0 import TempoR0Config

ROOT = Path(__file__).resolve().parents[2]


def test_old_yaml_key_loads_with_a_warning_naming_file_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "old.yaml"
    cfg.write_text("grpo:\n  video: {fps: 2.0, strategy: text}\n")
    with pytest.warns(UserWarning, match=rf"{re.escape(str(cfg))}: grpo\.video\.strategy is deprecated; write grpo\.video\.timestamps"):
        loaded = load_config(TempoR0Config, cfg)
    assert loaded.grpo.video.timestamps == "text" and loaded.grpo.video.fps == 2.0
    cfg.write_text("grpo:\n  video: {strategy: clock}\n")
    with pytest.warns(UserWarning), pytest.raises(ConfigError, match=r"grpo\.video\.timestamps: invalid choice: 'clock'"):
        load_config(TempoR0Config, cfg)
    cfg.write_text("grpo:\n  video: {strategy: text, timestamps: mrope}\n")
    with pytest.raises(ConfigError, match=r"grpo\.video\.strategy is the old name of grpo\.video\.timestamps"):
        load_config(TempoR0Config, cfg)


def test_old_keyword_and_attribute_work_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match=r"VideoSettings\(strategy=...\) is deprecated; use timestamps="):
        v = VideoSettings(fps=1.0, strategy="overlay")  # e.g. the video settings saved with an older checkpoint
    assert v == VideoSettings(fps=1.0, timestamps="overlay")
    with pytest.warns(DeprecationWarning, match=r"VideoSettings\.strategy is deprecated; use \.timestamps"):
        assert v.strategy == "overlay"
    assert "strategy" not in dataclasses.asdict(v) and dataclasses.replace(v, timestamps="text").timestamps == "text"
    with pytest.raises(TypeError, match="give only timestamps"):
        VideoSettings(strategy="text", timestamps="mrope")


def test_shipped_presets_use_the_new_name() -> None:
    presets = sorted((ROOT / "configs").rglob("*.yaml"))
    assert presets
    for p in presets:
        assert "strategy:" not in p.read_text(), p
