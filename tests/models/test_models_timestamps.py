"""Timestamp strategies: marker text, group times, the TEMPURA overlay."""

from __future__ import annotations

import numpy as np
import pytest

from tempoforge.errors import UserError
from tempoforge.io.overlay import OVERLAY_PAD, burn_timestamps
from tempoforge.records import Frames
from tempoforge.timestamps import STRATEGIES, check_strategy, group_marker_times, time_marker


def test_marker_text_and_group_times() -> None:
    assert time_marker(12.5) == "<12.5 seconds>"
    assert time_marker(0.04) == "<0.0 seconds>"
    # Qwen3-VL convention: mean of first and last frame of each temporal patch:
    # (0 + 1) / 2 = 0.5, (2 + 3) / 2 = 2.5, last patch padded with its own frame: (4 + 4) / 2 = 4.0
    assert group_marker_times([0, 1, 2, 3, 4], 2) == [0.5, 2.5, 4.0]
    assert STRATEGIES == ("mrope", "text", "overlay", "frames-as-images")
    with pytest.raises(UserError, match="mrope, text, overlay, frames-as-images"):
        check_strategy("absolute")


def test_overlay_draws_time_top_left_on_black_box() -> None:
    h, w = 200, 300
    frames = Frames(np.full((2, h, w, 3), 128, np.uint8), [0.0, 12.34])
    out = burn_timestamps(frames)
    assert out.times.tolist() == [0.0, 12.34]  # times stay paired with their frames
    assert np.array_equal(frames.data, np.full((2, h, w, 3), 128, np.uint8))  # input untouched
    img = out.data[1]
    # black box starts at the corner; white (text) pixels inside it; font height = h / 10 = 20 px, so the
    # box (text + 2 * 5 px padding) is about 30 px tall and the rest of the frame is untouched
    assert img[0, 0].tolist() == [0, 0, 0]
    box = img[: 2 * OVERLAY_PAD + 20, :]
    assert (box == 255).all(axis=-1).sum() > 30
    rows = np.where((img != 128).any(axis=(1, 2)))[0]
    cols = np.where((img != 128).any(axis=(0, 2)))[0]
    assert 20 <= rows.max() + 1 <= 2 * OVERLAY_PAD + 22
    # "12.3" is four glyphs of a 20 px bold font: wider than tall, well under half the frame
    assert rows.max() + 1 < cols.max() + 1 < w // 2
    # different times give different pixels
    assert not np.array_equal(out.data[0], out.data[1])


def test_cli_strategy_names_mirror_the_strategies() -> None:
    from tempoforge.models.config import STRATEGY_NAMES

    assert STRATEGY_NAMES == STRATEGIES
