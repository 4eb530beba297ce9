"""Clip readings: plausible rejected texts, the time-reversed reading, and the balanced mirror probe."""

from __future__ import annotations

import hashlib

from tempoforge.records import DenseCaptionSample, Event, Span
from tempoforge.synth.readings import ClipReading, contradiction, oracle_clip_readings
from tempoforge.synth.temple import (
    TempleSynthConfig,
    aggregate_captions,
    clip_spans,
    mirror_probe_pairs,
    oracle_clip_captions,
    temple_pairs,
)
from tempoforge.world import preset_config
from tempoforge.world.exports import dense_sample
from tempoforge.world.script import sample_script


def _seg(s: float, e: float, cap: str, rev: str, vin: str | None, vout: str | None, action: str = "act") -> Event:
    return Event(span=Span.of(s, e), caption=cap, action=action,
                 attributes={"reversed_caption": rev, "objects_in": {"0": vin}, "objects_out": {"0": vout}})


# the red circle appears, stays, moves left, then disappears (8 s, one object)
SAMPLE = DenseCaptionSample(id="v1", video="v1.mp4", duration=8.0, events=[
    _seg(0, 2, "the red circle appears", "the red circle disappears", None, "red"),
    _seg(2, 4, "nothing moves", "nothing moves", "red", "red", action="static"),
    _seg(4, 6, "the red circle moves to the left", "the red circle moves to the right", "red", "red"),
    _seg(6, 8, "the red circle disappears", "the red circle appears", "red", None),
])


def test_oracle_readings_by_hand() -> None:
    r = oracle_clip_readings(SAMPLE, clip_spans(8.0, 4))  # midpoints 1, 3, 5, 7
    assert [x.caption for x in r] == oracle_clip_captions(SAMPLE, clip_spans(8.0, 4))
    assert r[1].caption == "nothing changes" and r[1].reversed_caption == "nothing changes"
    assert r[2].reversed_caption == "the red circle moves to the right"
    assert r[0].objects_in == (("0", None),) and r[0].objects_out == (("0", "red"),)
    back = r[3].time_reversed()
    assert back.caption == "the red circle appears" and back.objects_in == (("0", None),)


def test_contradictions_by_hand() -> None:
    r = oracle_clip_readings(SAMPLE, clip_spans(8.0, 4))
    assert contradiction(r) is None
    # the paper's reverse (order reversed, actions kept): "disappears ... appears" -- it disappears while
    # it is still invisible after "appears" was undone: the first join already contradicts
    why = contradiction(list(reversed(r)))
    assert why is not None and "object 0 is invisible after 'the red circle disappears'" in why
    # the time-reversed reading of the whole video is consistent
    assert contradiction([x.time_reversed() for x in reversed(r)]) is None
    # plain captions carry no states: nothing to contradict
    assert contradiction([ClipReading("a"), ClipReading("b")]) is None
    # consecutive clips of one event are merged before the joins are checked
    appear = ClipReading("x appears", None, (("0", None),), (("0", "red"),))
    assert contradiction([appear, appear, ClipReading("x moves", None, (("0", "red"),), (("0", "red"),))]) is None


def test_pairs_are_redrawn_until_plausible_or_skipped() -> None:
    r = oracle_clip_readings(SAMPLE, clip_spans(8.0, 4))
    pairs, skipped = temple_pairs(SAMPLE, r, TempleSynthConfig(kinds=["reverse", "mirror"], r=[4], captioner="oracle"))
    # reverse with chunks of 1 has a single (contradicting) draw: skipped with the reason
    assert [s["id"] for s in skipped] == ["v1/reverse/r4/s0"] and "contradicts" in skipped[0]["reason"]
    # mirror r = 4 on 4 clips: a stretch of 4 - 4 // 4 = 3 clips read backwards, starting at clip 0 or 1:
    #   start 0: moves right, nothing, disappears (clip 0 backwards) | disappears  -> the two "disappears" merge
    #   start 1: appears | appears (clip 3 backwards), moves right, nothing        -> the two "appears" merge
    # both read as a possible video; the aggregated texts:
    (p,) = pairs
    assert p.kind == "mirror" and p.r == 4
    assert p.rejected in {"First, the red circle moves to the right. Finally, the red circle disappears.",
                          "First, the red circle appears. Finally, the red circle moves to the right."}


def _world(n: int = 24) -> list[DenseCaptionSample]:
    cfg = preset_config("tiny", max_objects=1, causal_prob=1.0, mirror_pairs=True,
                        actions=("appear", "disappear", "move", "grow", "shrink", "recolor"))
    return [dense_sample(sample_script(cfg, 9, i)) for i in range(n)]


def test_full_mirror_of_the_readings_is_the_twins_reading() -> None:
    world = _world()
    by_id = {d.id: d for d in world}
    for twin in world[1::2]:
        orig = by_id[twin.meta["mirror_of"]]
        r = oracle_clip_readings(orig, clip_spans(orig.duration, 32))
        assert contradiction(r) is None
        backwards = aggregate_captions([x.time_reversed().caption for x in reversed(r)])
        assert backwards == aggregate_captions(oracle_clip_captions(twin, clip_spans(twin.duration, 32)))


def test_mirror_probe_is_balanced_so_text_alone_scores_one_half() -> None:
    probe = mirror_probe_pairs(_world(), clips=32)
    assert probe and len(probe) % 2 == 0
    chosen = sorted((p.prompt, p.chosen) for p in probe)
    rejected = sorted((p.prompt, p.rejected) for p in probe)
    assert chosen == rejected  # every (prompt, caption) is chosen once and rejected once
    # any scorer that reads only the text prefers the same side in both pairs of a group: exactly 0.5
    def text_only(prompt: str, answer: str) -> float:
        return int.from_bytes(hashlib.sha256((prompt + answer).encode()).digest()[:4], "little")

    wins = [text_only(p.prompt, p.chosen) > text_only(p.prompt, p.rejected) for p in probe]
    assert sum(wins) == len(probe) // 2
    groups = {p.meta["group"] for p in probe}
    assert len(groups) == len(probe) // 2


def test_balanced_pairs_render_the_perturbed_video(tmp_path) -> None:
    import numpy as np

    from tempoforge.io.dense import iter_frames
    from tempoforge.world import generate_world

    cfg = preset_config("tiny", max_objects=1, causal_prob=1.0, mirror_pairs=True, workers=1,
                        actions=("appear", "disappear", "move", "grow", "shrink", "recolor"))
    world = generate_world(tmp_path / "w", 2, seed=4, config=cfg, progress=False)
    d = dense_sample(world.scripts[0])
    video = str(world.video_path(d.id))
    readings = oracle_clip_readings(d, clip_spans(d.duration, 8))
    syn = TempleSynthConfig(kinds=["mirror"], r=[16], clips=8, captioner="oracle", balanced=True)
    pairs, skipped = temple_pairs(d, readings, syn, video=video, render_to=tmp_path / "perturbed")
    assert not skipped and [p.id for p in pairs] == ["tw00000/mirror/r16/s0", "tw00000/mirror/r16/s0/balance"]
    clean, balance = pairs
    # the balancing pair is the same texts the other way round, on the perturbed video
    assert (balance.chosen, balance.rejected) == (clean.rejected, clean.chosen) and balance.video != clean.video
    # r = 16 > 8 clips: the whole video read backwards -> the rendered video is the original's frames reversed
    orig = np.stack([f for _, f in iter_frames(video)])
    back = np.stack([f for _, f in iter_frames(balance.video)])
    assert back.shape == orig.shape
    # the encode is lossless; only the decode to RGB and back to yuv420p moves a pixel, by a level or two
    assert np.abs(back.astype(int) - orig[::-1].astype(int)).mean() < 2
    # a rerun reuses the rendered file
    before = (tmp_path / "perturbed" / "tw00000__mirror_r16_s0.mp4").stat().st_mtime_ns
    temple_pairs(d, readings, syn, video=video, render_to=tmp_path / "perturbed")
    assert (tmp_path / "perturbed" / "tw00000__mirror_r16_s0.mp4").stat().st_mtime_ns == before
