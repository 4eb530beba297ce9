"""Our own answer parser: time spans and refusals from free model text (one place, DESIGN.md principle 9).

This is the parser of tempoforge's ``strict`` convention, of the GRPO rewards and of ``Prediction.windows``.
The official scorers' parsers are in :mod:`tempoforge.eval.parsers_official`; they differ on purpose.

What is recognised (in order of appearance; every span the answer states is kept):

- ``<answer>...</answer>``: when present, only the LAST answer block is parsed (an unclosed ``<answer>``
  takes the rest of the text); ``<think>...</think>`` blocks are ignored otherwise. Other markup tags such
  as D2VLM's detokenised ``<evi>12.5 - 20.1</evi>`` are removed, keeping their text, and so is markdown.
- JSON: ``{"relevant_windows": [[s, e, score], ...]}`` (also ``windows``/``timestamps``/``spans``/
  ``pred_relevant_windows``), ``[[s, e], ...]``, ``[s, e]``, ``{"start": s, "end": e}``.
- ranges ``12.5 - 20.1``, ``12.5–20.1``, ``12.5s ~ 20.1s``, ``from 12.5 to 20.1 seconds``, ``between 0:12
  and 0:20``, ``[12.5, 20.1]``, ``(0:12, 0:20)``, clocks ``mm:ss`` / ``hh:mm:ss(.f)``, units s / min / h
  (a unit after the second number applies to a bare first number), ``1m30s``.
- ``starts at X ... ends at Y`` / ``Start time: X`` + ``End time: Y`` (each start paired with the next end).
- a single instant with time context (``at 5 seconds``, ``at 0:05``) when nothing else is found: ``[t, t]``.

Numbers that are not times are skipped: attached to words (``Qwen2-VL``, ``3rd``), preceded by ``step``,
``option``, ``frame``..., followed by ``people``, ``times``, ``%``..., and bare single numbers (``2 people``).
A refusal (``does not appear``, ``not present``, ``no such event``, ``cannot be found``, ``never
happens``...) is reported as status ``"refusal"`` only when no span is stated; stated spans win.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ParseResult", "ParseStatus", "is_refusal", "parse_spans"]

ParseStatus = Literal["ok", "refusal", "empty", "unparseable"]


@dataclass(frozen=True)
class ParseResult:
    """What :func:`parse_spans` found in one answer.

    ``raw_windows`` are the numbers in the order the text states them (possibly reversed or negative);
    ``windows`` the same spans with ``start <= end``. ``scores`` holds JSON confidence scores when given.
    ``used_text`` / ``used_span`` are the part of the input that was parsed (the ``<answer>`` content, or
    the whole text), ``source`` says how the spans were read (``json``, ``text``, ``keywords``, ``instant``).
    """

    windows: list[tuple[float, float]]
    raw_windows: list[tuple[float, float]]
    status: ParseStatus
    used_text: str
    used_span: tuple[int, int]
    source: str = ""
    scores: list[float] = field(default_factory=list)

    @property
    def first(self) -> tuple[float, float] | None:
        return self.windows[0] if self.windows else None


_REFUSAL = re.compile(
    r"(?:does|do|did|is|are|was|were)\s*(?:n['’]?t|\s+not)\s+(?:appear|occur|happen|exist|take\s+place|present|"
    r"shown|visible|seen|depicted|found|included|contain|show|feature|in\s+(?:the|this)\s+video)"
    r"|\bnot\s+(?:present|visible|found|shown|depicted|seen)\b"
    r"|\bno\s+(?:such|relevant|matching|corresponding)\s+(?:event|moment|action|activity|scene|segment|clip|part|"
    r"content|thing|query)"
    r"|\b(?:can\s*not|can['’]?t|could\s*not|couldn['’]?t|unable\s+to|impossible\s+to)\s+(?:be\s+)?"
    r"(?:find|found|locate[d]?|identif(?:y|ied)|determine[d]?|ground(?:ed)?|spot(?:ted)?|detect(?:ed)?)"
    r"|\bnever\b"
    r"|\bthere\s+(?:is|was|are)\s+no\s+(?:\w+\s+){0,2}(?:moment|event|scene|segment|evidence|sign|instance|"
    r"mention|part)"
    r"|\bnot\s+(?:applicable|in\s+(?:the|this)\s+video)\b"
    r"|^\s*(?:none|n/?a|null|no)\s*\.?\s*$",
    re.IGNORECASE,
)


def is_refusal(text: str) -> bool:
    """True when ``text`` says the queried event is absent (``does not appear``, ``no such event``...)."""
    return bool(_REFUSAL.search(text))


_UNIT_S = r"s|secs?|seconds?|seg"
_UNIT_M = r"mins?|minutes?"
_UNIT_H = r"h|hrs?|hours?"
_TOKEN = re.compile(
    rf"(?:(?<![\w.:])|(?<=to))(?P<sign>-)?(?:"
    rf"(?P<cm>\d+)\s*(?:m|{_UNIT_M})\s*(?P<cs>\d+(?:\.\d+)?)\s*(?:{_UNIT_S})\b"  # 1m30s, 1 min 30 sec
    rf"|(?P<clock>\d{{1,2}}(?::\d{{1,2}}){{1,2}}(?:\.\d+)?)(?![\d:])"  # 0:12, 00:01:05.5
    rf"|(?P<num>\d+(?:\.\d+)?)(?:\s*(?P<unit>{_UNIT_S}|{_UNIT_M}|{_UNIT_H})\b)?(?!(?!to)\w|\.\d)"
    rf")",
    re.IGNORECASE,
)
_IS_MIN = re.compile(_UNIT_M, re.IGNORECASE)
_IS_HOUR = re.compile(_UNIT_H, re.IGNORECASE)
_DASH = re.compile(r"\s*[-–]\s*")
_COMMA = re.compile(r"\s*,\s*")
_SEP = re.compile(r"\s*(?:-{1,2}|–|—|~|to|until|till|through|thru|and)\s*", re.IGNORECASE)
_BEFORE_BAD = re.compile(
    r"\b(?:steps?|options?|choices?|frames?|scenes?|pages?|chapters?|questions?|items?|no\.|number|version|"
    r"rows?|lines?|sections?|levels?|grades?|rounds?|episodes?|players?|ages?)\s*#?\s*$",
    re.IGNORECASE,
)
_AFTER_BAD = re.compile(
    r"^\s*(?:%|percent|people|persons?|men|women|kids|children|times|items?|objects?|steps?|frames?|fps|kg|"
    r"cm|mm|km|meters?|metres?|inches|feet|ft|lbs?|pounds?|dollars?|years?|yrs?|days?|weeks?|months?|"
    r"points?|goals?|degrees?|°|x\b|px|cups?|eggs?|pieces?|slices?)",
    re.IGNORECASE,
)
_START_KW = re.compile(r"\b(?:start\w*|begin\w*|began|commenc\w*|onset|from)\b[^\d]{0,30}$", re.IGNORECASE)
_END_KW = re.compile(
    r"\b(?:end\w*|finish\w*|stop\w*|conclud\w*|until|till|offset)\b[^\d]{0,30}$", re.IGNORECASE
)
_INSTANT_KW = re.compile(r"\b(?:at|around|about|near|approximately|roughly)\s*(?:the\s+)?$", re.IGNORECASE)
_OPEN = re.compile(r"[\[{]")
_TAG = re.compile(r"</?[A-Za-z_][\w-]*\s*/?>")
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.IGNORECASE | re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.IGNORECASE | re.DOTALL)
_JSON_KEYS = (
    "relevant_windows",
    "pred_relevant_windows",
    "windows",
    "timestamps",
    "timestamp",
    "spans",
    "span",
)


@dataclass
class _Tok:
    value: float
    start: int
    end: int
    explicit: bool  # clock or unit given: certainly a time
    unit_factor: float | None  # None: a bare number
    signed: bool


def _scan_tokens(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    for m in _TOKEN.finditer(text):
        factor: float | None
        if m.group("cm") is not None:
            value, explicit, factor = int(m.group("cm")) * 60 + float(m.group("cs")), True, 1.0
        elif m.group("clock") is not None:
            parts = [float(x) for x in m.group("clock").split(":")]
            value = parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) == 3 else 0.0)
            explicit, factor = True, 1.0
        else:
            unit = (m.group("unit") or "").lower()
            factor_opt = 60.0 if _IS_MIN.fullmatch(unit) else 3600.0 if _IS_HOUR.fullmatch(unit) else None
            if unit and factor_opt is None:
                factor_opt = 1.0
            value, explicit, factor = float(m.group("num")), bool(unit), factor_opt
            if factor is not None:
                value *= factor
        signed = m.group("sign") is not None
        if signed:
            gap = text[toks[-1].end : m.start()] if toks else None
            if gap is not None and gap.strip() == "":  # "10 -5": the minus is a separator, not a sign
                signed = False
        start = m.start() if signed else m.start() + (1 if m.group("sign") else 0)
        toks.append(_Tok(-value if signed else value, start, m.end(), explicit, factor, signed))
    return toks


def _is_time_context(text: str, a: _Tok, b: _Tok | None) -> bool:
    before = text[max(0, a.start - 20) : a.start]
    after = text[(b or a).end : (b or a).end + 15]
    return not (_BEFORE_BAD.search(before) or _AFTER_BAD.match(after))


def _pair_sep_ok(text: str, a: _Tok, b: _Tok) -> bool:
    gap = text[a.end : b.start]
    if _SEP.fullmatch(gap):
        if gap.strip().lower() == "and":
            return bool(re.search(r"\bbetween\s*$", text[max(0, a.start - 12) : a.start], re.IGNORECASE))
        return True
    if _COMMA.fullmatch(gap):  # "[12.5, 20.1]" / "(0:12, 0:20)"
        return text[: a.start].rstrip().endswith(("[", "(")) and text[b.end :].lstrip().startswith(("]", ")"))
    return False


def _text_windows(text: str) -> tuple[list[tuple[float, float]], str]:
    toks = _scan_tokens(text)
    pairs: list[tuple[int, float, float]] = []
    used = [False] * len(toks)
    i = 0
    while i + 1 < len(toks):
        a, b = toks[i], toks[i + 1]
        if (
            i + 2 < len(toks)
            and _DASH.fullmatch(text[a.end : b.start])
            and _DASH.fullmatch(text[b.end : toks[i + 2].start])
        ):
            i += 3  # "2023-05-01", "1 - 2 - 3": a chain of dashes is not a span
            continue
        if _pair_sep_ok(text, a, b) and _is_time_context(text, a, b):
            va = a.value
            if a.unit_factor is None and b.unit_factor not in (None, 1.0):
                va *= b.unit_factor  # "1 to 2 minutes"
            pairs.append((a.start, va, b.value))
            used[i] = used[i + 1] = True
            i += 2
            continue
        i += 1
    # starts at X ... ends at Y
    pending: _Tok | None = None
    kw_pairs: list[tuple[int, float, float]] = []
    prev_end = 0
    for k, t in enumerate(toks):
        ctx = text[prev_end : t.start]
        prev_end = t.end
        if used[k]:
            continue
        if _END_KW.search(ctx) and pending is not None:
            kw_pairs.append((pending.start, pending.value, t.value))
            pending = None
        elif _START_KW.search(ctx) and _is_time_context(text, t, None):
            pending = t
    if pairs or kw_pairs:
        src = "text" if pairs else "keywords"
        return [(v0, v1) for _, v0, v1 in sorted(pairs + kw_pairs)], src
    for t in toks:
        ctx = text[max(0, t.start - 40) : t.start]
        if _START_KW.search(ctx) or _END_KW.search(ctx):
            continue  # "starts at 4 s" with no end is an incomplete span, not an instant
        if t.explicit and _INSTANT_KW.search(ctx[-25:]):
            return [(t.value, t.value)], "instant"
    return [], ""


def _json_windows(text: str) -> tuple[list[tuple[float, float]], list[float]]:
    """Windows from every top-level JSON value in ``text`` that holds some (``[0, 5] and [10, 12]``)."""
    wins: list[tuple[float, float]] = []
    scores: list[float] = []
    pos = tried = 0
    while tried < 50:  # bounded work on pathological answers ("[[[[...")
        m = _OPEN.search(text, pos)
        if m is None:
            break
        tried += 1
        depth, end = 0, -1
        for j in range(m.start(), min(len(text), m.start() + 5000)):
            c = text[j]
            if c in "[{":
                depth += 1
            elif c in "]}":
                depth -= 1
                if depth == 0:
                    end = j + 1
                    break
        pos = m.start() + 1
        if end < 0:
            continue
        try:
            obj = json.loads(text[m.start() : end])
        except ValueError:
            continue
        found, sc = _windows_from_obj(obj)
        if found:
            wins.extend(found)
            if len(sc) == len(found):
                scores.extend(sc)
            pos = end
    return wins, scores if len(scores) == len(wins) else []


def _num(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _windows_from_obj(obj: Any) -> tuple[list[tuple[float, float]], list[float]]:
    if isinstance(obj, dict):
        for key in _JSON_KEYS:
            if key in obj:
                return _windows_from_obj(obj[key])
        lower = {str(k).lower(): v for k, v in obj.items()}
        for ks, ke in (("start", "end"), ("start_time", "end_time"), ("begin", "end"), ("s", "e")):
            if _num(lower.get(ks)) and _num(lower.get(ke)):
                return [(float(lower[ks]), float(lower[ke]))], []
        return [], []
    if isinstance(obj, list):
        if len(obj) >= 2 and all(_num(x) for x in obj[:2]) and len(obj) <= 3 and all(_num(x) for x in obj):
            return [(float(obj[0]), float(obj[1]))], [float(obj[2])] if len(obj) == 3 else []
        wins: list[tuple[float, float]] = []
        scores: list[float] = []
        for item in obj:
            if isinstance(item, list) and 2 <= len(item) <= 3 and all(_num(x) for x in item):
                wins.append((float(item[0]), float(item[1])))
                if len(item) == 3:
                    scores.append(float(item[2]))
            elif isinstance(item, dict):
                w, _ = _windows_from_obj(item)
                wins.extend(w)
        return wins, scores if len(scores) == len(wins) else []
    return [], []


def _select_text(text: str) -> tuple[str, tuple[int, int]]:
    answers = list(_ANSWER.finditer(text))
    if answers:
        last = answers[-1]
        return last.group(1), (last.start(1), last.end(1))
    return text, (0, len(text))


def _clean(text: str) -> str:
    """Remove think blocks, markup tags and markdown emphasis, keeping character positions."""
    out = _THINK.sub(lambda m: " " * len(m.group(0)), text)
    out = _TAG.sub(lambda m: " " * len(m.group(0)), out)
    return re.sub(r"[*`#]", " ", out)


def parse_spans(text: str) -> ParseResult:
    """Every time span stated in ``text`` (see the module docstring), with a parse status.

    ``status``: ``"ok"`` (at least one span), ``"refusal"`` (no span and the answer says the event is
    absent), ``"empty"`` (blank answer) or ``"unparseable"``. Never raises on any string.
    """
    if text is None or not str(text).strip():
        return ParseResult([], [], "empty", "", (0, 0))
    text = str(text)
    used, span = _select_text(text)
    cleaned = _clean(used)
    if not cleaned.strip():
        return ParseResult([], [], "empty", used, span)
    raw, scores = _json_windows(cleaned) if ("[" in cleaned or "{" in cleaned) else ([], [])
    source = "json" if raw else ""
    if not raw:
        raw, source = _text_windows(cleaned)
    if raw:
        windows = [(min(s, e), max(s, e)) for s, e in raw]
        return ParseResult(windows, list(raw), "ok", used, span, source, scores)
    status: ParseStatus = "refusal" if is_refusal(cleaned) else "unparseable"
    return ParseResult([], [], status, used, span)
