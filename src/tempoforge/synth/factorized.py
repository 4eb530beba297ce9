"""D2VLM factorized negatives: one controlled perturbation of a correct response at a time (METHODS.md 3.4).

A correct response is a chronological list of events, each a span and a description. A negative changes
exactly one *factor*, so that the factorized preference loss (FPO, METHODS.md 3.3) can tell grounding
errors from text errors:

- grounding factors: ``shift`` (one event's span moved so that its IoU with the original is < 0.5),
  ``insert`` (a fabricated event placed in the video), ``delete`` (one event removed), ``merge`` (two
  adjacent events fused into one span and one description);
- text factors: ``tamper`` (one key word of one event changed: colour, object, action, number or
  direction), ``repeat`` (one event's description repeated, the repetitive-response failure).

No public code exists for this step (the paper describes it in prose); the rules above are ours and are
seeded from ``(sample id, factor, seed)``. Every negative records its factor.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tempoforge.records import DenseCaptionSample, PreferencePair, Span
from tempoforge.synth.perturb import perturbation_rng

__all__ = [
    "FACTORS",
    "KEY_WORDS",
    "EvidenceEvent",
    "factorized_negative",
    "factorized_pairs",
    "render_response",
]

GROUNDING_FACTORS = ("shift", "insert", "delete", "merge")
TEXT_FACTORS = ("tamper", "repeat")

# Interchangeable key words by kind: tampering swaps a word for another of the same kind.
KEY_WORDS: dict[str, tuple[str, ...]] = {
    "colour": ("red", "green", "blue", "yellow", "purple", "orange", "white", "black", "pink", "brown", "grey"),
    "object": ("circle", "square", "triangle", "star", "ball", "box", "car", "dog", "cat", "man", "woman",
               "person", "cup", "door", "knife", "bowl", "pan", "chair", "table", "phone", "book"),
    "action": ("appears", "disappears", "grows", "shrinks", "rotates", "stops", "opens", "closes", "picks",
               "puts", "walks", "runs", "sits", "stands", "cuts", "pours", "throws", "catches"),
    "number": ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    "direction": ("left", "right", "up", "down", "forward", "backward"),
}
_WORD_KIND = {w: kind for kind, words in KEY_WORDS.items() for w in words}
_WORD_RE = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class EvidenceEvent:
    """One event of a response: where it happens and what it is."""

    span: Span
    text: str


Factor = Callable[[list[EvidenceEvent], float, np.random.Generator], list[EvidenceEvent] | None]


def _shift(events: list[EvidenceEvent], duration: float, rng: np.random.Generator) -> list[EvidenceEvent] | None:
    k = int(rng.integers(len(events)))
    s, e = events[k].span.start, events[k].span.end
    length = max(e - s, 1e-3)
    # move by 0.75-1.5 event lengths: IoU of the moved span with the original is then below 0.5
    delta = float(rng.uniform(0.75, 1.5)) * length
    options = [d for d in (delta, -delta) if s + d >= 0.0 and e + d <= duration]
    if not options:
        return None
    d = options[int(rng.integers(len(options)))]
    out = list(events)
    out[k] = EvidenceEvent(Span.of(round(s + d, 2), round(e + d, 2)), events[k].text)
    return out


def _insert(events: list[EvidenceEvent], duration: float, rng: np.random.Generator) -> list[EvidenceEvent] | None:
    donor = events[int(rng.integers(len(events)))]
    tampered = _tamper_text(donor.text, rng)
    if tampered is None:
        return None
    length = min(duration, max(0.5, donor.span.length))
    start = float(rng.uniform(0.0, max(duration - length, 0.0)))
    new = EvidenceEvent(Span.of(round(start, 2), round(start + length, 2)), tampered)
    return sorted([*events, new], key=lambda ev: (ev.span.start, ev.span.end))


def _delete(events: list[EvidenceEvent], duration: float, rng: np.random.Generator) -> list[EvidenceEvent] | None:
    if len(events) < 2:
        return None
    k = int(rng.integers(len(events)))
    return events[:k] + events[k + 1:]


def _merge(events: list[EvidenceEvent], duration: float, rng: np.random.Generator) -> list[EvidenceEvent] | None:
    if len(events) < 2:
        return None
    k = int(rng.integers(len(events) - 1))
    a, b = events[k], events[k + 1]
    merged = EvidenceEvent(Span.of(min(a.span.start, b.span.start), max(a.span.end, b.span.end)),
                           f"{a.text.rstrip('.')} and {b.text[:1].lower()}{b.text[1:]}")
    return [*events[:k], merged, *events[k + 2:]]


def _tamper_text(text: str, rng: np.random.Generator) -> str | None:
    hits = [m for m in _WORD_RE.finditer(text) if m.group(0).lower() in _WORD_KIND]
    if not hits:
        return None
    m = hits[int(rng.integers(len(hits)))]
    word = m.group(0)
    choices = [w for w in KEY_WORDS[_WORD_KIND[word.lower()]] if w != word.lower()]
    new = choices[int(rng.integers(len(choices)))]
    if word[0].isupper():
        new = new.capitalize()
    return text[:m.start()] + new + text[m.end():]


def _tamper(events: list[EvidenceEvent], duration: float, rng: np.random.Generator) -> list[EvidenceEvent] | None:
    candidates = [i for i, ev in enumerate(events) if any(w.lower() in _WORD_KIND for w in _WORD_RE.findall(ev.text))]
    if not candidates:
        return None
    k = candidates[int(rng.integers(len(candidates)))]
    new_text = _tamper_text(events[k].text, rng)
    assert new_text is not None
    out = list(events)
    out[k] = EvidenceEvent(events[k].span, new_text)
    return out


def _repeat(events: list[EvidenceEvent], duration: float, rng: np.random.Generator) -> list[EvidenceEvent] | None:
    k = int(rng.integers(len(events)))
    times = int(rng.integers(2, 4))
    return events[:k + 1] + [events[k]] * times + events[k + 1:]


FACTORS: dict[str, Factor] = {
    "shift": _shift, "insert": _insert, "delete": _delete, "merge": _merge, "tamper": _tamper, "repeat": _repeat,
}


def render_response(events: Sequence[EvidenceEvent], style: str = "d2vlm") -> str:
    """The response text the model is trained on.

    ``d2vlm`` (METHODS.md 3.1): an evidence part with one ``<evi>`` per event, then ``</evi>``, then the
    answer part where each event is referred to by its own ``<evi>``: ``<evi><evi></evi> <evi> text. <evi>
    text.`` — the spans are carried by the evidence tokens' grounding targets, not by the text.
    ``timestamps``: the detokenised form ``"s - e: text."`` per line (what D2VLM inference prints).
    """
    if style == "d2vlm":
        evidence = "<evi>" * len(events) + "</evi>"
        answer = " ".join(f"<evi> {ev.text.rstrip('.')}." for ev in events)
        return f"{evidence} {answer}"
    if style == "timestamps":
        return "\n".join(f"{ev.span.start:.1f} - {ev.span.end:.1f}: {ev.text.rstrip('.')}." for ev in events)
    raise ValueError(f"unknown response style {style!r}; known: d2vlm, timestamps")


def factorized_negative(events: Sequence[EvidenceEvent], factor: str, duration: float, *, seed: int = 0,
                        sample_id: str = "") -> list[EvidenceEvent] | None:
    """The negative for one ``factor``, or ``None`` when the factor cannot apply (e.g. delete on 1 event)."""
    if factor not in FACTORS:
        raise ValueError(f"unknown factor {factor!r}; known: {', '.join(FACTORS)}")
    if not events:
        return None
    rng = perturbation_rng(sample_id, factor, 1, seed)
    out = FACTORS[factor](list(events), duration, rng)
    if out is None or out == list(events):
        return None
    return out


def factorized_pairs(sample: DenseCaptionSample, *, prompt: str, factors: Sequence[str] = tuple(FACTORS),
                     seed: int = 0, style: str = "d2vlm") -> list[PreferencePair]:
    """One preference pair per applicable factor: the sample's events as chosen, the negative as rejected."""
    events = [EvidenceEvent(ev.span, ev.caption.strip()) for ev in sample.events]
    chosen = render_response(events, style)
    pairs = []
    for factor in factors:
        neg = factorized_negative(events, factor, sample.duration, seed=seed, sample_id=sample.id)
        if neg is None:
            continue
        pairs.append(PreferencePair(
            id=f"{sample.id}/{factor}/{seed}", video=sample.video, prompt=prompt, chosen=chosen,
            rejected=render_response(neg, style), factor=factor, seed=seed,
            chosen_spans=[ev.span for ev in events], rejected_spans=[ev.span for ev in neg],
            meta={"duration": sample.duration, "factor_kind": "grounding" if factor in GROUNDING_FACTORS else "text"},
        ))
    return pairs
