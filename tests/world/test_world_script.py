"""TempoWorld scripts: timeline invariants, naming, causal chains, captions and config checks."""

from __future__ import annotations

import itertools
import math

import pytest

from tempoforge.errors import UserError
from tempoforge.world.captions import OPPOSITE, describe
from tempoforge.world.config import WorldConfig, preset_config
from tempoforge.world.scene import ObjectState, VideoScript, ease, object_state
from tempoforge.world.script import sample_script
from tempoforge.world.vocab import COLORS

RICH = preset_config("standard", width=112, height=112, min_duration=20.0, max_duration=40.0,
                     object_size=0.13)


def _vec(st: ObjectState) -> tuple[float, ...]:
    return (st.x, st.y, st.scale, st.alpha, *st.rgb)


def _scripts(cfg: WorldConfig, n: int, seed: int = 7) -> list[VideoScript]:
    return [sample_script(cfg, seed, i) for i in range(n)]


@pytest.fixture(scope="module")
def scripts() -> list[VideoScript]:
    return _scripts(preset_config("tiny"), 60) + _scripts(RICH, 40)


def test_durations_and_event_counts_follow_the_config() -> None:
    for cfg in (preset_config("tiny"), RICH):
        for s in _scripts(cfg, 40):
            assert cfg.min_duration <= s.duration <= cfg.max_duration
            assert cfg.min_events <= len(s.events) <= cfg.max_events
            assert s.num_frames == round(s.duration * cfg.fps)
            # every boundary is on the time grid
            for t in [x for e in s.events for x in (e.start, e.end)] + [x for g in s.segments for x in (g.start, g.end)]:
                assert abs(t / cfg.time_grid - round(t / cfg.time_grid)) < 1e-9


def test_segments_partition_the_video(scripts: list[VideoScript]) -> None:
    for s in scripts:
        assert s.segments[0].start == 0.0
        assert s.segments[-1].end == s.duration
        for a, b in zip(s.segments, s.segments[1:]):
            assert a.end == b.start, f"{s.id}: gap or overlap between {a} and {b}"
        assert all(g.end - g.start > 0 for g in s.segments)


def test_events_lie_inside_their_shot_and_segment(scripts: list[VideoScript]) -> None:
    for s in scripts:
        covered = {i for g in s.segments for i in g.events}
        assert covered == {e.index for e in s.events}, f"{s.id}: an event is in no segment"
        for g in s.segments:
            for i in g.events:
                e = s.events[i]
                assert g.start <= e.start < e.end <= g.end
                shot = s.shots[e.shot]
                assert shot.start <= e.start and e.end <= shot.end
                assert e.object_id in shot.objects


def test_one_object_never_does_two_things_at_once(scripts: list[VideoScript]) -> None:
    for s in scripts:
        for o in s.objects:
            evs = s.events_of(o.id)
            for a, b in itertools.pairwise(evs):
                assert a.end <= b.start


def test_shots_and_transitions_tile_the_video(scripts: list[VideoScript]) -> None:
    for s in scripts:
        assert len(s.transitions) == len(s.shots) - 1
        for prev, tr, nxt in zip(s.shots, s.transitions, s.shots[1:]):
            assert prev.end == tr.start and tr.end == nxt.start
            assert (tr.kind == "cut") == (tr.start == tr.end)
        assert s.shots[0].start == 0.0 and s.shots[-1].end == s.duration


def test_static_spans_are_really_static(scripts: list[VideoScript]) -> None:
    # nothing may change inside a static span: every object of the shot has the same state at both ends
    for s in scripts:
        for a, b in s.static_spans:
            shot = s.shot_at(a)
            assert shot is not None and shot.end >= b
            for oid in shot.objects:
                sa = object_state(s.objects[oid], s.events_of(oid), a)
                sb = object_state(s.objects[oid], s.events_of(oid), b - 1e-6)
                assert _vec(sa) == pytest.approx(_vec(sb))


def test_names_are_unique_so_captions_pick_one_object(scripts: list[VideoScript]) -> None:
    for s in scripts:
        seen: dict[str, int] = {}
        for o in s.objects:
            for name in s.names_of(o.id):
                assert seen.setdefault(name, o.id) == o.id, f"{s.id}: {name} names two objects"
        for e in s.events:
            assert e.subject.removeprefix("the ") in s.names_of(e.object_id)
            assert e.caption.startswith(e.subject)


def test_colours_are_distinct_within_a_shot(scripts: list[VideoScript]) -> None:
    for s in scripts:
        for shot in s.shots:
            for t in [shot.start + k * (shot.end - shot.start) / 8 for k in range(8)]:
                cols = [object_state(s.objects[o], s.events_of(o), t).color for o in shot.objects]
                assert len(cols) == len(set(cols)), f"{s.id} t={t}: two objects share a colour"


def test_objects_stay_in_frame_and_apart(scripts: list[VideoScript]) -> None:
    from tempoforge.world.vocab import bound_radius

    for s in scripts:
        for shot in s.shots:
            for k in range(21):
                t = shot.start + k * (shot.end - shot.start) / 20
                st = {o: object_state(s.objects[o], s.events_of(o), t) for o in shot.objects}
                rad = {o: bound_radius(s.objects[o].shape) * s.objects[o].radius * st[o].scale for o in st}
                for o, x in st.items():
                    assert rad[o] <= x.x <= s.width - rad[o] and rad[o] <= x.y <= s.height - rad[o]
                for o in st:
                    for p in st:
                        if o < p:
                            assert math.hypot(st[o].x - st[p].x, st[o].y - st[p].y) > rad[o] + rad[p]


def test_causal_chains_have_one_protagonist_and_unrelated_videos_change_shots(scripts: list[VideoScript]) -> None:
    kinds = {True: 0, False: 0}
    for s in scripts:
        kinds[s.causal] += 1
        if s.causal:
            assert len({e.object_id for e in s.events}) == 1
            assert all(e.inferable and e.action not in ("rotate", "stop") for e in s.events)
        else:
            assert not any(e.inferable for e in s.events)
            if len(s.events) >= 2:
                assert len(s.shots) >= 2
                # each shot has its own objects
                for a in s.shots:
                    for b in s.shots:
                        if a.index < b.index:
                            assert not set(a.objects) & set(b.objects)
    assert kinds[True] > 10 and kinds[False] > 10


def test_causal_middle_event_is_fixed_by_its_neighbours_states(scripts: list[VideoScript]) -> None:
    # the state just before a middle event equals the state at the end of the previous one (no hidden
    # changes), and the event changes a visible state: position, size, colour or presence
    for s in (x for x in scripts if x.causal and len(x.events) >= 3):
        hero = s.objects[s.events[0].object_id]
        evs = s.events_of(hero.id)
        for prev, mid in itertools.pairwise(evs):
            a = object_state(hero, evs, prev.end)
            b = object_state(hero, evs, mid.start)
            assert _vec(a) == pytest.approx(_vec(b)) and a.color == b.color
            c = object_state(hero, evs, mid.end)
            assert _vec(b) != pytest.approx(_vec(c))


def test_same_seed_same_script_and_videos_are_independent() -> None:
    cfg = preset_config("tiny")
    assert sample_script(cfg, 3, 5).to_dict() == sample_script(cfg, 3, 5).to_dict()
    assert sample_script(cfg, 3, 5).to_dict() != sample_script(cfg, 4, 5).to_dict()
    # video 5 does not depend on whether videos 0..4 were sampled first
    fresh = sample_script(cfg, 3, 5).to_dict()
    _scripts(cfg, 5, seed=3)
    assert sample_script(cfg, 3, 5).to_dict() == fresh


def test_script_round_trips_through_json_dict(scripts: list[VideoScript]) -> None:
    for s in scripts[:10] + scripts[-10:]:
        assert VideoScript.from_dict(s.to_dict()).to_dict() == s.to_dict()


def test_direction_sensitive_captions_have_opposites() -> None:
    s = "the red circle"
    assert describe("move", s, {"direction": "left"})[0] == "the red circle moves to the left"
    assert describe("move", s, {"direction": OPPOSITE["left"]})[0] == "the red circle moves to the right"
    assert describe("appear", s, {})[0] == "the red circle appears"
    assert describe(OPPOSITE["appear"], s, {})[0] == "the red circle disappears"
    assert describe("grow", s, {})[0] == "the red circle grows"
    assert describe(OPPOSITE["grow"], s, {})[0] == "the red circle shrinks"
    assert describe("rotate", "the blue star", {"clockwise": False})[0] == "the blue star spins counterclockwise"
    assert describe("recolor", s, {"to_color": "blue"})[0] == "the red circle turns blue"
    assert len(set(describe("shrink", s, {}))) == 3  # paraphrases differ


def test_object_state_interpolates_exactly() -> None:
    from tempoforge.world.scene import ObjectSpec, WorldEvent

    obj = ObjectSpec(id=0, shape="circle", color="red", x=10.0, y=20.0, radius=5.0)
    mv = WorldEvent(index=0, object_id=0, action="move", start=2.0, end=4.0, shot=0, subject="the red circle",
                    caption="", paraphrases=[], params={"direction": "right", "dx": 8.0, "dy": 0.0})
    rc = WorldEvent(index=1, object_id=0, action="recolor", start=5.0, end=6.0, shot=0, subject="the red circle",
                    caption="", paraphrases=[], params={"from_color": "red", "to_color": "blue"})
    evs = [mv, rc]
    assert object_state(obj, evs, 1.0).x == 10.0  # before: initial position
    assert object_state(obj, evs, 3.0).x == 14.0  # halfway: 10 + 8 * 0.5
    assert object_state(obj, evs, 4.5).x == 18.0  # after: 10 + 8
    mid = object_state(obj, evs, 5.5).rgb  # halfway between red and blue
    assert mid == pytest.approx(tuple((a + b) / 2 for a, b in zip(COLORS["red"], COLORS["blue"])))
    assert object_state(obj, evs, 6.0).color == "blue"
    # stop = ease-out: at p = 0.5 it has covered 1 - 0.5^2 = 0.75 of the way
    assert ease("stop", 0.5) == 0.75 and ease("move", 0.5) == 0.5


def test_bad_config_is_a_user_error_naming_the_field() -> None:
    with pytest.raises(UserError, match="width and height must be even"):
        WorldConfig(width=57)
    with pytest.raises(UserError, match="unknown"):
        WorldConfig(actions=("teleport",))
    with pytest.raises(UserError, match="causal_prob"):
        WorldConfig(causal_prob=1.5)
    with pytest.raises(UserError, match="unknown TempoWorld preset"):
        preset_config("huge")


def test_presets_are_valid_configs() -> None:
    tiny, std, long = preset_config("tiny"), preset_config("standard"), preset_config("long")
    assert (tiny.width, tiny.height) == (56, 56) and tiny.width % 28 == 0
    assert (std.width, std.height) == (224, 224)
    assert long.min_duration == 300.0 and long.max_duration == 600.0
    s = sample_script(long, 0, 0)
    assert 300.0 <= s.duration <= 600.0 and len(s.shots) >= 2
