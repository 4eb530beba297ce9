"""A mirror twin is the same world played backwards: pixels, events, captions and exports agree."""

from __future__ import annotations

import numpy as np
import pytest

from tempoforge.errors import UserError
from tempoforge.world import preset_config
from tempoforge.world.exports import dense_sample
from tempoforge.world.mirror import mirror_script, reversed_action
from tempoforge.world.render import render_frame
from tempoforge.world.script import sample_script

REVERSIBLE = ("appear", "disappear", "move", "grow", "shrink", "recolor", "rotate")


def _cfg(**kw: object) -> object:
    return preset_config("tiny", actions=REVERSIBLE, mirror_pairs=True, **kw)


def test_reversed_actions_by_hand() -> None:
    assert reversed_action("move", {"direction": "left", "dx": -9.0, "dy": 0.0}) == \
        ("move", {"direction": "right", "dx": 9.0, "dy": 0.0})
    act, prm = reversed_action("grow", {"factor": 1.6})
    assert act == "shrink" and prm["factor"] == pytest.approx(0.625)  # 1 / 1.6
    assert reversed_action("shrink", {"factor": 0.6})[0] == "grow"  # 1 / 0.6 = 1.67 > 1
    assert reversed_action("recolor", {"from_color": "red", "to_color": "blue"}) == \
        ("recolor", {"from_color": "blue", "to_color": "red"})
    assert reversed_action("appear", {}) == ("disappear", {})
    assert reversed_action("rotate", {"clockwise": True, "degrees": 90.0}) == \
        ("rotate", {"clockwise": False, "degrees": -90.0})
    with pytest.raises(ValueError, match="no time-reversed twin"):
        reversed_action("stop", {"direction": "left", "dx": -3.0, "dy": 0.0})


def test_stop_and_mirror_pairs_is_a_config_error() -> None:
    with pytest.raises(UserError, match="stop"):
        preset_config("tiny", mirror_pairs=True)  # the default actions include stop


@pytest.mark.parametrize("index", range(0, 12, 2))
def test_twin_renders_the_original_backwards_exactly(index: int) -> None:
    cfg = _cfg(max_shots=3, transition_prob=0.5, concurrent_prob=0.5)
    orig, twin = sample_script(cfg, 3, index), sample_script(cfg, 3, index + 1)
    assert twin.mirror_of == orig.id and twin.duration == orig.duration
    T = orig.duration
    # away from the exact boundaries (where [start, end) flips to (start, end]) the pixels are identical
    for t in np.linspace(0.13, T - 0.13, 17):
        assert np.array_equal(render_frame(twin, float(t)), render_frame(orig, T - float(t))), (orig.id, t)


def test_twin_events_and_segments_by_hand() -> None:
    cfg = _cfg()
    for index in range(0, 40, 2):
        orig, twin = sample_script(cfg, 5, index), sample_script(cfg, 5, index + 1)
        T = orig.duration
        # every event [s, e] becomes [T - e, T - s] with the opposite action, listed chronologically
        assert sorted((round(T - e.end, 6), round(T - e.start, 6)) for e in orig.events) == \
            [(round(e.start, 6), round(e.end, 6)) for e in twin.events]
        assert [g.kind for g in reversed(orig.segments)] == [g.kind for g in twin.segments]
        # playing the twin backwards gives the original's captions back
        again = mirror_script(twin)
        assert [e.caption for e in again.events] == [e.caption for e in orig.events]
        assert [g.caption for g in again.segments] == [g.caption for g in orig.segments]


def test_recolor_subject_takes_the_colour_the_reversed_event_starts_with() -> None:
    cfg = _cfg()
    for index in range(0, 200, 2):
        orig = sample_script(cfg, 11, index)
        rec = [e for e in orig.events if e.action == "recolor"]
        if rec:
            break
    else:
        pytest.skip("no recolor in 100 scripts")  # pragma: no cover
    ev = rec[0]
    twin = sample_script(cfg, 11, index + 1)
    mirrored = next(e for e in twin.events if e.action == "recolor" and abs(e.start - (orig.duration - ev.end)) < 1e-6)
    shape = orig.objects[ev.object_id].shape
    frm, to = ev.params["from_color"], ev.params["to_color"]
    assert mirrored.caption == f"the {to} {shape} turns {frm}"


def test_dense_export_carries_reversed_captions_and_states() -> None:
    cfg = _cfg(max_objects=1, causal_prob=1.0)
    orig, twin = sample_script(cfg, 2, 0), sample_script(cfg, 2, 1)
    d, dt = dense_sample(orig), dense_sample(twin)
    assert dt.meta["mirror_of"] == orig.id and "mirror_of" not in d.meta
    # the reversed caption of segment k is the twin's caption of segment n-1-k
    assert [e.attributes["reversed_caption"] for e in d.events] == [e.caption for e in reversed(dt.events)]
    # a segment ends in the state the next one starts in (TempoWorld is continuous inside a shot)
    for a, b in zip(d.events, d.events[1:]):
        assert a.attributes["objects_out"] == b.attributes["objects_in"]
    # and the twin starts where the original ends
    assert dt.events[0].attributes["objects_in"] == d.events[-1].attributes["objects_out"]
