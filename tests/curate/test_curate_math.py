"""Pure functions of the curation steps, checked against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from tempoforge.curate.grouping import check_runs, check_shot_count, group_shots, make_runs
from tempoforge.curate.keyframes import adaptive_frames, run_keyframes
from tempoforge.curate.record import Run, Shot
from tempoforge.curate.shots import clean_shots, cuts_to_shots, transnetv2_cuts
from tempoforge.curate.signals import SignalTable


def _table(n: int, fps: float) -> SignalTable:
    return SignalTable(
        times=np.arange(n) / fps, change=np.zeros(n, np.float32), grey_min=np.zeros(n, np.uint8),
        grey_max=np.full(n, 100, np.uint8), sharpness=np.zeros(n, np.float32), embed=np.zeros((n, 64), np.float32),
        fps=fps, duration=n / fps,
    )


def test_group_ties_take_lowest_indices_and_stop_at_threshold() -> None:
    # e0=[1,0], e1=[0,1], e2=[.96,.28], e3=[.28,.96]: cos(0,2)=cos(1,3)=0.96 (tie -> (0,2) first).
    # c02 = [.98,.14]; cos(c02, e3) = (.2744+.1344)/0.98995 = 0.413; then (1,3) merge -> c13 = [.14,.98];
    # cos(c02, c13) = .2744/.98 = 0.28 < 0.8 -> stop. Groups by first appearance: [0, 1, 0, 1].
    e = np.array([[1, 0], [0, 1], [0.96, 0.28], [0.28, 0.96]])
    assert group_shots(e, 0.8) == [0, 1, 0, 1]


def test_group_uses_average_linkage() -> None:
    # a at 0 deg, b at 30 deg, c at 60 deg: cos(a,b) = cos(b,c) = 0.866 > 0.8, cos(a,c) = 0.5.
    # (a,b) merge first (lowest indices); their average points at 15 deg, and cos(15 deg -> 60 deg) =
    # cos 45 deg = 0.707 < 0.8, so c stays alone (single linkage would have joined it through b).
    deg = np.deg2rad([0, 30, 60])
    e = np.stack([np.cos(deg), np.sin(deg)], axis=1)
    assert group_shots(e, 0.8) == [0, 0, 1]
    assert group_shots(e, 0.7) == [0, 0, 0]


def test_runs_are_maximal_consecutive_groups() -> None:
    shots = [Shot(start=i, end=i + 1, num_frames=10) for i in range(4)]
    runs = make_runs(shots, [0, 0, 1, 0])
    assert [(r.group, r.shots, r.start, r.end) for r in runs] == [(0, [0, 1], 0, 2), (1, [2], 2, 3), (0, [3], 3, 4)]


def _runs(groups: list[int]) -> list[Run]:
    return [Run(group=g, shots=[i], start=i, end=i + 1) for i, g in enumerate(groups)]


def test_check_runs_rules() -> None:
    assert check_runs(_runs([0, 1, 2, 3])) is None
    assert check_runs(_runs([0, 1, 2])) == ("it has only 3 runs of consecutive similar shots, but at least 4 are "
                                            "needed (min_runs)")
    # 5 runs -> limit 5//3 = 1; group 0 recurs in 2 runs
    assert check_runs(_runs([0, 1, 0, 2, 3])) == (
        "one scene (shot group 0) recurs in 2 of 5 runs, but at most 1 may show the same scene (a third of the "
        "runs, and fewer than max_group_runs = 4)")
    # the example, "group 0 recurs in 1 of 1 runs (allowed: <= 0 and < 4)": 1 run, 1 // 3 = 0 allowed
    assert check_runs(_runs([0]), min_runs=1) == (
        "it has only 1 run of consecutive similar shots: one scene may fill at most a third of the runs, so at "
        "least 3 are needed")
    # 12 runs -> limit 4; group 0 in 4 runs is not > 4 but is >= 4 -> drop; in 3 runs -> keep
    assert check_runs(_runs([0, 1, 0, 2, 0, 3, 0, 4, 5, 6, 7, 8])) is not None
    assert check_runs(_runs([0, 1, 0, 2, 0, 3, 9, 4, 5, 6, 7, 8])) is None


def test_check_shot_count_rules() -> None:
    def shots(lengths: list[float]) -> list[Shot]:
        starts = np.concatenate([[0], np.cumsum(lengths)])
        return [Shot(start=float(s), end=float(s + n), num_frames=1) for s, n in zip(starts, lengths)]

    assert check_shot_count(shots([2, 2, 2])) == ("it has 3 shots after cleaning, but 4 to 32 are needed "
                                                  "(min_shots, max_shots)")
    assert (check_shot_count(shots([1.0] * 33)) or "").startswith("it has 33 shots after cleaning")
    assert check_shot_count(shots([2, 2, 2, 16.0])) is None  # exactly 16 s is allowed
    assert check_shot_count(shots([2, 2, 2, 16.5])) == (
        "the shot from 6.000 s to 22.500 s lasts 16.50 s, longer than the 16.0 s allowed (max_shot_seconds)")


def test_run_keyframes_cos_weighted_sharpness() -> None:
    # run [0, 9) at 1 fps: interval 3, centres 3 and 6, windows +-1.5 -> frames {2,3,4} and {5,6,7}.
    # weights cos(pi*d/3): d=0 -> 1, d=1 -> 0.5. Centre 3: 10*.5=5 (frame 2), 4*1=4, 6*.5=3 -> frame 2.
    # Centre 6: 0, 0, 2*.5=1 -> frame 7. Frame 8 (sharpness 9) is outside both windows.
    times = np.arange(10, dtype=float)
    sharp = np.array([0, 0, 10, 4, 6, 0, 0, 2, 9, 0], dtype=float)
    picks = run_keyframes(times, sharp, 0.0, 9.0)
    assert [i for i, _ in picks] == [2, 7]
    assert [s for _, s in picks] == pytest.approx([5.0, 1.0])


def test_adaptive_frames_inverts_cumulative_change() -> None:
    # w = change + 1.0 * mean(change) = [1,3,3,3,3,1,1,1] (mean 1), sum 16;
    # cum/16 = [.0625,.25,.4375,.625,.8125,.875,.9375,1]; targets (k+.5)/4 = .125,.375,.625,.875 -> 1,2,3,5
    change = np.array([0, 2, 2, 2, 2, 0, 0, 0], dtype=float)
    assert adaptive_frames(change, 4, floor=1.0).tolist() == [1, 2, 3, 5]
    # no floor: cum = [0,.25,.5,.75,1,1,1,1] -> 1,2,3,4 (the static tail gets nothing)
    assert adaptive_frames(change, 4, floor=0.0).tolist() == [1, 2, 3, 4]
    # a static video falls back to uniform: cum = [.125,...,1] -> 0,2,4,6
    assert adaptive_frames(np.zeros(8), 4).tolist() == [0, 2, 4, 6]
    # one frame carrying almost all the mass: picks collide and are spread to distinct later frames
    spike = np.array([0, 0, 0, 0, 8, 0, 0, 0], dtype=float)
    assert adaptive_frames(spike, 4, floor=0.25).tolist() == [4, 5, 6, 7]
    assert adaptive_frames(change, 20).tolist() == list(range(8))


def test_transnetv2_cuts_from_runs_above_threshold() -> None:
    # runs above 0.5: [0] (starts the video: ignored), [3] -> cut at times[4] = 2.0,
    # [5,6] -> times[7] = 3.5, [8] (last frame: nothing after it) -> ignored
    probs = np.array([0.9, 0.1, 0.2, 0.7, 0.1, 0.6, 0.8, 0.1, 0.9])
    times = np.arange(9) * 0.5
    assert transnetv2_cuts(probs, times, 0.5).tolist() == [2.0, 3.5]


def test_cuts_to_shots_and_temple_cleaning() -> None:
    table = _table(40, 10.0)  # 40 frames at 10 fps, duration 4.0
    table.grey_max[30:] = 0  # the last second is black (grey range 0)
    shots = cuts_to_shots(np.array([0.5, 1.0, 3.0]), table)
    assert [(s.start, s.end, s.num_frames) for s in shots] == [(0, 0.5, 5), (0.5, 1.0, 5), (1.0, 3.0, 20), (3.0, 4.0, 10)]
    # the 5-frame second shot merges into the first; the black last shot is dropped (median range 0 < 10)
    cleaned = clean_shots(shots, table)
    assert [(s.start, s.end, s.num_frames) for s in cleaned] == [(0, 1.0, 10), (1.0, 3.0, 20)]
    # shots shorter than 1.5 * fps = 15 frames are dropped
    assert [(s.start, s.end) for s in clean_shots(shots, table, min_length_fps_factor=1.5)] == [(1.0, 3.0)]
    # a short first shot merges into the next one
    first = clean_shots(cuts_to_shots(np.array([0.3]), table), table, min_grey_range=0)
    assert [(s.start, s.end, s.num_frames) for s in first] == [(0, 4.0, 40)]
