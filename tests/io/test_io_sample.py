"""Exact times from ``probe``/``sample``/``iter_frames`` on generated videos with known timestamps."""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest

from tempoforge.io import VideoError, iter_frames, probe, sample


@pytest.mark.parametrize("fps", [Fraction(25), Fraction(30), Fraction(30000, 1001)])
def test_probe_constant_rate(cfr_video, fps):
    info = probe(cfr_video(fps, 100))
    assert info.num_frames == 100 and info.num_frames_exact
    assert info.fps == pytest.approx(float(fps), rel=1e-6)
    assert not info.variable_fps
    # 100 frames of 1/fps each: the last frame ends at 100/fps
    assert info.duration == pytest.approx(100 / float(fps), abs=1e-6)
    assert (info.width, info.height, info.rotation, info.codec) == (96, 64, 0, "h264")
    assert info.has_audio is False


@pytest.mark.parametrize("fps", [Fraction(25), Fraction(30), Fraction(30000, 1001)])
def test_sample_times_are_true_frame_times(cfr_video, frame_index, fps):
    path = cfr_video(fps, 100)
    frames = sample(path, times=[0.0, 1.0, 2.0, 3.3])
    # nearest frame to t is round(t * fps); its time is exactly that index / fps
    expected_idx = [round(t * float(fps)) for t in (0.0, 1.0, 2.0, 3.3)]
    assert [frame_index(f) for f in frames.data] == expected_idx
    np.testing.assert_allclose(frames.times, [i / float(fps) for i in expected_idx], atol=1e-9)
    np.testing.assert_allclose(frames.requested, [0.0, 1.0, 2.0, 3.3])


def test_fractional_rate_at_one_fps(cfr_video, frame_index):
    fps = Fraction(30000, 1001)
    frames = sample(cfr_video(fps, 100), fps=1.0)
    # duration 100 * 1001/30000 = 3.3367 s -> targets 0,1,2,3 -> frames 0, 30, 60, 90 (29.97 fps)
    assert [frame_index(f) for f in frames.data] == [0, 30, 60, 90]
    np.testing.assert_allclose(frames.times, [0.0, 30 * 1001 / 30000, 60 * 1001 / 30000, 90 * 1001 / 30000])


def test_variable_frame_rate(vfr_video, frame_index):
    path, times = vfr_video
    info = probe(path)
    assert info.variable_fps
    assert info.num_frames == 60
    # ask for the exact time of some frames and for times in between
    frames = sample(path, times=[times[7], times[30], times[31] + 0.004])
    assert [frame_index(f) for f in frames.data] == [7, 30, 31]
    np.testing.assert_allclose(frames.times, [times[7], times[30], times[31]], atol=1e-9)
    # frames at 0, .02, .12, .14, .24, .26, .36, .38, .48, .50, .60, .62, .72, .74, .84, ...
    # 5 fps targets 0, .2, .4, .6, .8 -> nearest: 0, .24 (.04 vs .06), .38 (.02), .60, .84 (.04 vs .06)
    f5 = sample(path, fps=5.0, end=1.0)
    np.testing.assert_allclose(f5.times, [0.0, 0.24, 0.38, 0.6, 0.84])


def test_stream_starting_late(offset_video, frame_index):
    info = probe(offset_video)
    # time 0 is the container's start, which is the first frame; the stream's own pts offset is kept
    assert info.start_time == pytest.approx(0.0)
    assert info.duration == pytest.approx(2.0, abs=1e-6)
    frames = sample(offset_video, times=[0.0, 1.0])
    assert [frame_index(f) for f in frames.data] == [0, 25]
    np.testing.assert_allclose(frames.times, [0.0, 1.0], atol=1e-9)


def test_rotation_metadata_is_applied(rotated_video, frame_index):
    info = probe(rotated_video)
    assert info.rotation == 90
    assert info.display_size == (64, 96)
    frames = sample(rotated_video, times=[0.28])  # frame 7: bits 0-2 set, white blocks at stored x 0..23
    img = frames.data[0]
    assert img.shape == (96, 64, 3)
    # 90 deg counter-clockwise: stored (row r, col c) -> displayed (row 95 - c, col r), so the white blocks
    # (stored rows 0-7, cols 0-23) land at displayed rows 72-95, cols 0-7; stored cols 72-95 (black) at rows 0-23
    assert img[74:94, 1:7].mean() > 200
    assert img[2:22, 1:7].mean() < 60
    assert frame_index(np.rot90(img, k=-1)) == 7


def test_sparse_sampling_seeks_and_caps_spread_over_whole_video(long_gop_video, frame_index):
    frames = sample(long_gop_video, num_frames=4)
    # 4 bins over 20 s, centres 2.5, 7.5, 12.5, 17.5 s = frames 62.5, 187.5, 312.5, 437.5: ties -> earlier
    assert [frame_index(f) for f in frames.data] == [62, 187, 312, 437]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        capped = sample(long_gop_video, fps=2.0, max_frames=5)
    assert len(capped) == 5
    assert capped.times[-1] > 15.0, "a frame cap must not drop the end of the video"
    assert any("max_frames" in w for w in capped.warnings)


def test_start_end_and_resize(cfr_video, frame_index):
    path = cfr_video(Fraction(25), 100)
    frames = sample(path, fps=2.0, start=1.0, end=2.0, size=(48, 32))
    assert frames.data.shape == (2, 32, 48, 3)
    # targets 1.0 and 1.5 s; at 25 fps 1.5 s = frame 37.5, a tie between 1.48 and 1.52 -> the earlier
    np.testing.assert_allclose(frames.times, [1.0, 1.48])
    small = sample(path, num_frames=1, max_pixels=96 * 64 // 4)
    assert small.data.shape[1] * small.data.shape[2] <= 96 * 64 // 4


def test_iter_frames_visits_every_frame_in_order(vfr_video, frame_index):
    path, times = vfr_video
    got = list(iter_frames(path))
    assert [frame_index(img) for _, img in got] == list(range(60))
    np.testing.assert_allclose([t for t, _ in got], times, atol=1e-9)
    part = [t for t, _ in iter_frames(path, start=1.0, end=2.0, size=(32, 32))]
    assert part == [t for t in times if 1.0 - 1e-3 <= t < 2.0 - 1e-3]


def test_past_the_end_is_an_error(cfr_video):
    with pytest.raises(VideoError, match=r"ends at 4\.000"):
        sample(cfr_video(Fraction(25), 100), times=[5.0])


def test_truncated_mkv_returns_decodable_part_with_warning(truncated_mkv, frame_index):
    info = probe(truncated_mkv)
    assert 1.0 < info.duration < 9.0
    frames = sample(truncated_mkv, times=[1.0])
    assert frame_index(frames.data[0]) == 25
    assert any("truncated" in w for w in frames.warnings)
    with pytest.raises(VideoError, match="truncated"):
        sample(truncated_mkv, times=[9.5])


def test_truncated_mp4_without_index(truncated_mp4):
    with pytest.raises(VideoError, match="moov atom not found"):
        probe(truncated_mp4)


def test_bad_files(tmp_path, audio_only):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 20)
    cases = {
        tmp_path / "missing.mp4": "file not found",
        empty: "empty",
        text: "not a video",
        audio_only: "no video stream",
    }
    for path, reason in cases.items():
        with pytest.raises(VideoError, match=reason) as err:
            sample(path, fps=1.0)
        assert str(path) in str(err.value)


def test_real_video_times_match_torchcodec_ground_truth(datasets_dir):
    import json

    video = datasets_dir / "videos" / "nasa_13013.mp4"
    truth = json.loads((datasets_dir / "videos" / "nasa_13013.mp4.stream3.all_frames_info.json").read_text())
    pts = np.array([float(x["pts_time"]) for x in truth])
    info = probe(video, stream=1)
    assert info.num_frames == len(pts) == 390
    frames = sample(video, stream=1, num_frames=16)
    # every returned time is one of the true frame times, and is the one nearest the requested time
    for got, req in zip(frames.times, frames.requested, strict=True):
        assert np.min(np.abs(pts - got)) < 1e-6
        assert abs(got - req) <= np.min(np.abs(pts - req)) + 2e-6  # truth is rounded to 1 us


def test_sparse_decoding_is_bit_exact(bframe_video):
    """Seeking and skipping non-reference frames far from a target never changes the frames returned."""
    import av

    with av.open(str(bframe_video)) as c:
        kinds = {int(f.pict_type) for f in c.decode(video=0)}
    assert 3 in kinds, f"the fixture must contain B-frames (AVPictureType 3), got {kinds}"
    everything = list(iter_frames(bframe_video))
    frames = sample(bframe_video, times=[3.0, 7.52, 11.0, 19.96])
    for img, t in zip(frames.data, frames.times, strict=True):
        i = round(t * 25)
        assert everything[i][0] == pytest.approx(t)
        np.testing.assert_array_equal(img, everything[i][1])


def test_parallel_decoders_return_what_one_decoder_returns(bframe_video):
    """The plan cut into runs for parallel decoders gives the same frames, times and order as one decoder."""
    from tempoforge.io.index import build_index
    from tempoforge.io.sample import _split_plan

    times = [0.5 * k for k in range(40)] + [3.0, 3.0, 19.96]  # duplicates and an unsorted tail
    index = build_index(bframe_video)
    runs = _split_plan(index, index.pts[np.unique(index.nearest(np.sort(times)))], 3)
    assert len(runs) == 3, "the plan must be split for this test to exercise parallel decoding"
    assert np.all(np.diff(np.concatenate(runs)) > 0), "runs are contiguous and in order"
    one = sample(bframe_video, times=times, dedupe=False, workers=1)
    many = sample(bframe_video, times=times, dedupe=False, workers=3)
    np.testing.assert_array_equal(many.times, one.times)
    np.testing.assert_array_equal(many.data, one.data)
    everything = list(iter_frames(bframe_video))
    for img, t in zip(many.data, many.times, strict=True):
        np.testing.assert_array_equal(img, everything[round(t * 25)][1])


def test_workers_must_be_positive(cfr_video):
    with pytest.raises(ValueError, match="workers must be >= 1"):
        sample(cfr_video(Fraction(25), 100), fps=1.0, workers=0)
