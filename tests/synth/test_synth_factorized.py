"""D2VLM factorized negatives: each factor changes exactly what it says and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempoforge.records import DenseCaptionSample, Event, Span
from tempoforge.synth.factorized import (
    FACTORS,
    KEY_WORDS,
    EvidenceEvent,
    factorized_negative,
    factorized_pairs,
    render_response,
)

SNAPSHOT = Path(__file__).parent / "snapshots" / "factorized.json"
EVENTS = [
    EvidenceEvent(Span.of(0.0, 4.0), "The red circle appears"),
    EvidenceEvent(Span.of(4.0, 9.0), "The red circle moves to the left"),
    EvidenceEvent(Span.of(9.0, 12.0), "Two blue squares shrink"),
]
DURATION = 20.0


def _iou(a: Span, b: Span) -> float:
    inter = max(0.0, min(a.end, b.end) - max(a.start, b.start))
    return inter / (a.length + b.length - inter)


@pytest.mark.parametrize("seed", range(6))
def test_shift_moves_one_span_far_enough(seed):
    neg = factorized_negative(EVENTS, "shift", DURATION, seed=seed, sample_id="v")
    assert neg is not None and len(neg) == 3
    changed = [i for i in range(3) if neg[i].span != EVENTS[i].span]
    assert len(changed) == 1
    i = changed[0]
    assert neg[i].text == EVENTS[i].text
    assert _iou(neg[i].span, EVENTS[i].span) < 0.5
    assert neg[i].span.start >= 0.0 and neg[i].span.end <= DURATION


@pytest.mark.parametrize("seed", range(6))
def test_text_factors(seed):
    tam = factorized_negative(EVENTS, "tamper", DURATION, seed=seed, sample_id="v")
    assert tam is not None
    assert [e.span for e in tam] == [e.span for e in EVENTS]
    diffs = [(a.text, b.text) for a, b in zip(EVENTS, tam, strict=True) if a.text != b.text]
    assert len(diffs) == 1
    old_words, new_words = diffs[0][0].split(), diffs[0][1].split()
    changed = [(o, n) for o, n in zip(old_words, new_words, strict=True) if o != n]
    assert len(changed) == 1
    o, n = (w.lower() for w in changed[0])
    assert any(o in words and n in words for words in KEY_WORDS.values()), "swapped within one kind"
    rep = factorized_negative(EVENTS, "repeat", DURATION, seed=seed, sample_id="v")
    assert rep is not None and len(rep) in (5, 6)
    assert [e for i, e in enumerate(rep) if i == 0 or rep[i - 1] != e] == EVENTS


def test_structure_factors():
    dele = factorized_negative(EVENTS, "delete", DURATION, seed=0, sample_id="v")
    assert dele is not None and len(dele) == 2 and all(e in EVENTS for e in dele)
    mer = factorized_negative(EVENTS, "merge", DURATION, seed=0, sample_id="v")
    assert mer is not None and len(mer) == 2
    merged = next(e for e in mer if e not in EVENTS)
    # adjacent events k, k+1 fuse: [0,4]+[4,9] -> [0,9] or [4,9]+[9,12] -> [4,12]
    assert merged.span in (Span.of(0.0, 9.0), Span.of(4.0, 12.0)) and " and " in merged.text
    ins = factorized_negative(EVENTS, "insert", DURATION, seed=0, sample_id="v")
    assert ins is not None and len(ins) == 4
    assert [e.span.start for e in ins] == sorted(e.span.start for e in ins)
    single = [EVENTS[0]]
    assert factorized_negative(single, "delete", DURATION) is None
    assert factorized_negative(single, "merge", DURATION) is None
    no_keywords = [EvidenceEvent(Span.of(0, 1), "something happens")]
    assert factorized_negative(no_keywords, "tamper", DURATION) is None
    with pytest.raises(ValueError, match="unknown factor"):
        factorized_negative(EVENTS, "blur", DURATION)


def test_render_by_hand():
    assert render_response(EVENTS[:2]) == (
        "<evi><evi></evi> <evi> The red circle appears. <evi> The red circle moves to the left."
    )
    assert render_response(EVENTS[:1], "timestamps") == "0.0 - 4.0: The red circle appears."


def test_pairs_record_factor_and_spans():
    sample = DenseCaptionSample(id="vid7", video="vid7.mp4", duration=DURATION,
                                events=[Event(span=e.span, caption=e.text) for e in EVENTS])
    pairs = factorized_pairs(sample, prompt="Describe the events.", seed=0)
    assert {p.factor for p in pairs} == set(FACTORS)
    for p in pairs:
        # a shift keeps the d2vlm text (spans live in the evidence tokens' targets): then the spans differ
        assert p.chosen != p.rejected or p.chosen_spans != p.rejected_spans
        assert p.chosen_spans == [e.span for e in EVENTS]
        assert p.meta["factor_kind"] == ("text" if p.factor in ("tamper", "repeat") else "grounding")
    snap = {p.factor: [p.rejected, [s.as_pair() for s in p.rejected_spans]] for p in pairs}
    assert json.loads(json.dumps(snap)) == json.loads(SNAPSHOT.read_text())
