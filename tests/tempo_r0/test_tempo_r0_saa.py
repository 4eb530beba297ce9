"""SAA (Tempo-R0): frames where the content changes, at the uniform budget, with true times; ETA markers."""

from __future__ import annotations

import numpy as np
import pytest

from tempoforge.models.saa import saa_budget, saa_frames, saa_times, select_adaptive
from tempoforge.models.video import VideoSettings, load_frames


def test_select_adaptive_by_hand():
    times = np.arange(10.0)
    change = np.array([0, 0, 0, 0, 0, 10, 10, 10, 10, 10], dtype=float)
    # floor 0: weights = change; normalised cumulative [0,0,0,0,0,.2,.4,.6,.8,1]; targets (k + .5)/4 =
    # .125 .375 .625 .875 -> first frames reaching them: 5, 6, 8, 9
    assert select_adaptive(times, change, 4, floor=0.0).tolist() == [5.0, 6.0, 8.0, 9.0]
    # floor 1: weights = change + 1 * mean(5) = [5]*5 + [15]*5, sum 100; cumulative
    # [.05,.10,.15,.20,.25,.40,.55,.70,.85,1] -> frames 2, 5, 7, 9: the static half keeps one frame
    assert select_adaptive(times, change, 4, floor=1.0).tolist() == [2.0, 5.0, 7.0, 9.0]
    with pytest.raises(ValueError):
        select_adaptive(times, change[:3], 2)


def test_saa_budget_matches_uniform_count():
    assert saa_budget(20.0, 1.0, 8) == 8  # capped
    assert saa_budget(5.5, 1.0, 16) == 5  # floor(5.5 * 1)
    assert saa_budget(0.2, 1.0, 16) == 1  # at least one frame


def test_saa_spends_frames_where_the_content_changes(change_video):
    # 20 s at 2 fps: static for 0-10 s, a new image every frame for 10-20 s. With equal changes c on the
    # 20 moving frames and 0 on the static ones, mean = c/2; floor 0.25 gives the static frames c/8 each
    # (2.5c in all) and the moving ones 1.125c each (22.5c): the static half holds 10% of the weight, so of
    # 8 frames one quantile (0.0625) falls in it and seven in the moving half (uniform: 4 and 4).
    frames = saa_frames(change_video, fps=1.0, max_frames=8, floor=0.25)
    t = frames.times
    assert len(frames) == 8 == saa_budget(20.0, 1.0, 8)
    assert np.all(np.diff(t) > 0)
    assert 1 <= int(np.sum(t < 10.0)) <= 2 and int(np.sum(t >= 10.0)) >= 6
    assert np.allclose(t * 2, np.round(t * 2)), "true presentation times of 2 fps frames (multiples of 0.5 s)"
    assert np.array_equal(t, saa_times(change_video, 8, 0.25))
    uniform = load_frames(change_video, VideoSettings(fps=1.0, max_frames=8))
    assert len(uniform) == len(frames) and int(np.sum(uniform.times < 10.0)) == 4


def test_video_settings_selects_saa(change_video):
    saa = load_frames(change_video, VideoSettings(fps=1.0, max_frames=8, selection="saa"))
    assert np.array_equal(saa.times, saa_times(change_video, 8, 0.25))
    with pytest.raises(ValueError, match="frame selection"):
        VideoSettings(selection="random")


def test_eta_markers_carry_the_saa_frame_times(change_video):
    """ETA (``text`` strategy) puts a marker before every 2-frame group: the mean of its TRUE frame times."""
    from tempoforge.models.inputs import build_example
    from tempoforge.models.tiny import build_tiny

    lm = build_tiny("qwen2_5_vl")
    frames = load_frames(change_video, VideoSettings(fps=1.0, max_frames=8, selection="saa"))
    ex = build_example(lm, "When does it change?", frames, "text")
    text = lm.tokenizer.decode(ex.input_ids)
    t = frames.times
    for k in range(0, 8, 2):
        assert f"<{(t[k] + t[k + 1]) / 2:.1f} seconds>" in text
