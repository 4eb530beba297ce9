"""``VideoSettings.max_pixels`` caps the tensorizer too (as ``predict --max-pixels`` does).

Before, training decoded frames at most ``max_pixels`` large and the tensorizer then enlarged them to the
checkpoint's ``video_min_pixels`` (128 x 28 x 28 for Qwen2.5-VL): TEMPURA's 320x180 frames cost 144 tokens
each in training and 84 in prediction (``tempoforge plan`` showed it).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tempoforge.models.tiny import build_tiny
from tempoforge.models.video import VideoSettings
from tempoforge.records import PreferencePair
from tempoforge.train.data import ExampleDataset, SFTItem
from tempoforge.train.dpo import PairDataset
from testkit import square_clip


def test_max_pixels_caps_what_the_model_sees(tmp_path: Path) -> None:
    lm = build_tiny("qwen2_5_vl", seed=0)
    # a checkpoint whose video minimum (56x56 = 4 merged tokens per frame pair) is above the run's cap
    lm.vision = dataclasses.replace(lm.vision, video_min_pixels=56 * 56, video_max_pixels=4 * 56 * 56)
    video = square_clip(tmp_path / "v.mp4", 2, 5)  # 8 frames of 56x56 at 1 fps -> 4 frame pairs
    capped = VideoSettings(fps=1.0, max_frames=8, max_pixels=28 * 28)
    free = VideoSettings(fps=1.0, max_frames=8)
    item = [SFTItem("a", video, "When is the square visible?", "From 2 to 5.")]

    def video_tokens(ex: object) -> int:
        return int((ex.mm_token_type_ids != 0).sum())  # type: ignore[attr-defined]

    # capped: decoded to 28x28 and kept there -> 1 token per pair; free: 56x56 -> 4 tokens per pair
    assert video_tokens(ExampleDataset(lm, item, capped)[0]) == 4 * 1
    assert video_tokens(ExampleDataset(lm, item, free)[0]) == 4 * 4
    pair = [PreferencePair(id="p", video=video, prompt="What happens?", chosen="It appears.", rejected="It goes.",
                           kind="reverse", r=2, seed=0)]
    ex = PairDataset(lm, pair, capped)[0]
    assert video_tokens(ex.chosen) == video_tokens(ex.rejected) == 4
