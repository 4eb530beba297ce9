"""The single-pass signal table: its values, PySceneDetect parity, and the .npz cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tempoforge.curate.signals import (
    analysis_size,
    colour_embedding,
    compute_signals,
    load_table,
    save_table,
    table_key,
)


def test_analysis_size_keeps_aspect_and_never_upscales() -> None:
    assert analysis_size(1280, 720, 192) == (192, 108)  # 192 * 720 / 1280 = 108
    assert analysis_size(320, 180, 640) == (320, 180)
    assert analysis_size(480, 270, 100) == (100, 56)  # 100 * 270 / 480 = 56.25 -> 56 (even)
    # other aspects get the same pixel budget (192 x 108 = 20736 px), not the same width
    assert analysis_size(224, 224, 192) == (144, 144)  # sqrt(20736) = 144
    assert analysis_size(1080, 1920, 192) == (108, 192)  # portrait: the 16:9 frame turned
    assert analysis_size(640, 480, 192) == (166, 124)  # 640 * sqrt(20736 / 307200) = 166.3; 166 * 3/4 = 124.5


def test_colour_embedding_is_a_normalised_sqrt_histogram() -> None:
    # 3/4 of the pixels in cell (3,0,0) (value 200 // 64 = 3), 1/4 in cell (0,0,3):
    # sqrt counts [sqrt(12), sqrt(4)] / norm(=4) -> 0.866 at index 3*16 = 48, 0.5 at index 3.
    img = np.zeros((4, 4, 3), np.uint8)
    img[:3] = (200, 0, 0)
    img[3] = (0, 0, 200)
    e = colour_embedding(img)
    assert e.shape == (64,)
    assert e[48] == pytest.approx(np.sqrt(12) / 4)
    assert e[3] == pytest.approx(0.5)
    assert np.count_nonzero(e) == 2


def test_signals_values_on_hand_made_frames() -> None:
    # frame 0: grey 100 everywhere; frame 1: left half 100, right half 200 (grey, so H = S = 0).
    # change[1] = mean over H,S,V planes of |dV| / 3 planes = (0 + 0 + 50) / 3 = 16.667
    f0 = np.full((8, 8, 3), 100, np.uint8)
    f1 = f0.copy()
    f1[:, 4:] = 200
    t = compute_signals([(0.0, f0), (0.04, f1)], fps=25.0)
    assert t.change.tolist() == pytest.approx([0.0, 50 / 3], abs=1e-4)
    assert t.grey_min.tolist() == [100, 100]
    assert t.grey_max.tolist() == [100, 200]
    assert t.sharpness[0] == 0.0 and t.sharpness[1] > 0.0  # a flat frame has no Laplacian response
    assert t.duration == pytest.approx(0.08)  # last frame time + one frame step


def test_change_equals_pyscenedetect_content_val() -> None:
    """Our ``change`` is PySceneDetect's ``content_val`` (default weights) on the same frames."""
    from scenedetect import FrameTimecode, StatsManager
    from scenedetect.detectors import ContentDetector

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, size=(36, 64, 3), dtype=np.uint8) for _ in range(6)]
    det = ContentDetector()
    det.stats_manager = StatsManager()
    expected = [0.0]
    for i, f in enumerate(frames):
        tc = FrameTimecode(i, fps=25.0)
        det.process_frame(tc, f[:, :, ::-1].copy())
        if i:
            expected.append(det.stats_manager.get_metrics(tc, ["content_val"])[0])
    table = compute_signals([(i / 25, f) for i, f in enumerate(frames)], fps=25.0)
    assert table.change.tolist() == pytest.approx(expected, rel=1e-5)


def test_cache_roundtrip_and_key_mismatch(tmp_path: Path) -> None:
    frames = [(i / 10, np.full((27, 48, 3), 10 * i, np.uint8)) for i in range(5)]
    key = table_key({"width": 48})
    table = compute_signals(frames, fps=10.0, keep_thumbs=True, key=key)
    table.cuts["adaptive"] = np.array([0.2])
    path = tmp_path / "v.npz"
    save_table(path, table)
    back = load_table(path, key)
    assert back is not None
    for name in ("times", "change", "grey_min", "grey_max", "sharpness", "embed", "thumbs"):
        np.testing.assert_array_equal(getattr(back, name), getattr(table, name))
    assert back.cuts["adaptive"].tolist() == [0.2] and back.fps == 10.0
    assert load_table(path, table_key({"width": 64})) is None  # other settings: recompute
    path.write_bytes(b"not an npz")
    assert load_table(path, key) is None


def test_area_resize_integer_factor_then_rest() -> None:
    from tempoforge.curate.signals import area_resize

    # 4x4 -> 2x2 by factor 2: each output pixel is the mean of a 2x2 block: (0+2+8+10)/4 = 5, ...
    img = np.repeat(np.arange(16, dtype=np.uint8).reshape(4, 4, 1) * 2, 3, axis=2)
    out = area_resize(img, (2, 2))
    assert out[:, :, 0].tolist() == [[5, 9], [21, 25]]
    # 5x5 -> 2x2: factor 2 crops the last row and column first, so the result is the same
    big = np.zeros((5, 5, 3), np.uint8)
    big[:4, :4] = img
    big[4, :] = big[:, 4] = 255
    assert area_resize(big, (2, 2))[:, :, 0].tolist() == [[5, 9], [21, 25]]
    assert area_resize(img, (4, 4)) is img


@pytest.mark.parametrize("name", ["adaptive", "content"])
def test_scored_detectors_cut_where_the_stock_detectors_cut(datasets_dir: Path, name: str) -> None:
    """Handing PySceneDetect our ``change`` as its frame score gives exactly its own cuts on real videos."""
    from scenedetect import FrameTimecode

    from tempoforge.curate.shots import DetectorParams, make_frame_detector
    from tempoforge.io import iter_frames, probe

    total_cuts = 0
    for video in ("big_buck_bunny_0_30.webm", "friday.mp4"):
        path = datasets_dir / "videos" / video
        info = probe(path)
        frames = list(iter_frames(path, size=analysis_size(*info.display_size, 192)))
        stock = make_frame_detector(name, DetectorParams())
        expected: list[int] = []
        for i, (_t, rgb) in enumerate(frames):
            expected += [c.frame_num for c in stock.process_frame(FrameTimecode(i, fps=info.fps), rgb[:, :, ::-1])]
        expected += [c.frame_num for c in stock.post_process(FrameTimecode(len(frames) - 1, fps=info.fps))]
        scored = make_frame_detector(name, DetectorParams(), scored=True)
        assert not hasattr(stock, "next_score") and hasattr(scored, "next_score")
        table = compute_signals(frames, info.fps, detectors={name: scored})
        times = np.asarray([t for t, _ in frames])
        expected_times = times[sorted({f for f in expected if 0 < f < len(frames)})]
        np.testing.assert_array_equal(table.cuts[name], expected_times)
        total_cuts += len(expected_times)
    assert total_cuts >= 3, "the videos must have cuts for this comparison to mean anything"


def test_video_signals_in_decoder_threads_equal_one_sequential_pass(datasets_dir: Path) -> None:
    """Per-frame features computed in parallel decoder threads (on BGR frames) give the table an in-order
    pass over the same frames gives, and the stock detector's cuts."""
    from scenedetect import FrameTimecode

    from tempoforge.curate.shots import DetectorParams, make_frame_detector
    from tempoforge.curate.signals import FrameAnalyzer, frame_features, video_signals
    from tempoforge.io import probe
    from tempoforge.io.dense import map_frames

    path = datasets_dir / "videos" / "big_buck_bunny_0_30.webm"
    info = probe(path)
    size = analysis_size(*info.display_size, 192)
    seq = FrameAnalyzer(info.fps, keep_thumbs=True)
    stock_cuts = []
    stock = make_frame_detector("adaptive", DetectorParams())
    for i, (t, bgr) in enumerate(map_frames(path, None, size=size, workers=1, bgr=True)):
        seq.push_features(t, frame_features(bgr, keep_thumb=True, bgr=True))
        stock_cuts += [c.frame_num for c in stock.process_frame(FrameTimecode(i, fps=info.fps), bgr)]
    stock_cuts += [c.frame_num for c in stock.post_process(FrameTimecode(i, fps=info.fps))]
    expected = seq.finish()
    par = video_signals(path, info.fps, size, keep_thumbs=True, workers=2,
                        detectors={"adaptive": make_frame_detector("adaptive", DetectorParams(), scored=True)})
    assert len(par) == info.num_frames == 720
    for name in ("times", "change", "grey_min", "grey_max", "sharpness", "embed", "thumbs"):
        np.testing.assert_array_equal(getattr(par, name), getattr(expected, name), err_msg=name)
    np.testing.assert_array_equal(par.cuts["adaptive"], expected.times[sorted(set(stock_cuts) - {0})])
    assert len(par.cuts["adaptive"]) >= 3


def test_features_of_a_bgr_frame_equal_those_of_the_rgb_frame() -> None:
    from tempoforge.curate.signals import frame_features

    rgb = np.random.default_rng(1).integers(0, 256, size=(54, 96, 3), dtype=np.uint8)
    a = frame_features(rgb, keep_thumb=True)
    b = frame_features(np.ascontiguousarray(rgb[:, :, ::-1]), keep_thumb=True, bgr=True)
    np.testing.assert_array_equal(a.hsv, b.hsv)
    np.testing.assert_array_equal(a.embed, b.embed)
    np.testing.assert_array_equal(a.thumb, b.thumb)
    assert (a.grey_min, a.grey_max, a.sharpness) == (b.grey_min, b.grey_max, b.sharpness)
