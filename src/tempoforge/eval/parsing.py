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

A model's answer is untrusted input, so the parser is total and bounded: it never raises, JSON nested
deeper than :data:`MAX_JSON_DEPTH` is not decoded, and an answer (the ``<answer>`` content) longer than
:data:`MAX_ANSWER_CHARS` characters is ``unparseable`` without being scanned (the work is linear in the
length below that). Only finite times inside the video are spans: a span with a non-finite number
(``[NaN, Infinity]``, ``1e309``), a negative time (``-5 to -2 seconds``), an impossible clock (``9:99:99``,
``1m75s``), an ambiguous decimal comma (``1,000``) or, when the duration is given, an end past the video
(more than :data:`DURATION_TOLERANCE` s) is rejected, with the reason in ``ParseResult.problems``; an
answer whose every span is rejected is ``unparseable``. A decimal comma with one or two decimals is read as
a decimal point (``12,5 - 20,1 s`` is 12.5-20.1), except in the tuple form ``(12,5)`` (two numbers).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DURATION_TOLERANCE",
    "MAX_ANSWER_CHARS",
    "MAX_JSON_DEPTH",
    "ParseResult",
    "ParseStatus",
    "is_refusal",
    "parse_spans",
]

ParseStatus = Literal["ok", "refusal", "empty", "unparseable"]

MAX_ANSWER_CHARS = 32_768  # longer answers are unparseable (no model answer of a few spans is this long)
MAX_JSON_DEPTH = 8  # window JSON is at most 3 deep ({"relevant_windows": [[s, e, score]]}); deeper is not decoded
DURATION_TOLERANCE = 1.0  # seconds a span may end past the video (answers are often rounded to whole seconds)


@dataclass(frozen=True)
class ParseResult:
    """What :func:`parse_spans` found in one answer.

    ``raw_windows`` are the numbers in the order the text states them (possibly reversed or negative);
    ``windows`` the same spans with ``start <= end``. ``scores`` holds JSON confidence scores when given.
    ``used_text`` / ``used_span`` are the part of the input that was parsed (the ``<answer>`` content, or
    the whole text), ``source`` says how the spans were read (``json``, ``text``, ``keywords``, ``instant``).
    ``problems`` lists the stated spans that were rejected (not a finite time inside the video) and why, or
    why the answer was not read at all (too long).
    """

    windows: list[tuple[float, float]]
    raw_windows: list[tuple[float, float]]
    status: ParseStatus
    used_text: str
    used_span: tuple[int, int]
    source: str = ""
    scores: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

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
    rf"|(?P<num>(?<!\d,)\d+,\d+(?![\d,])|\d+(?:\.\d+)?)"  # 12,5 (decimal comma) | 12.5
    rf"(?:\s*(?P<unit>{_UNIT_S}|{_UNIT_M}|{_UNIT_H})\b)?(?!(?!to)\w|\.\d)"
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
    problem: str | None = None  # not a valid time (an impossible clock, an ambiguous decimal comma)


def _clock_value(clock: str) -> tuple[float, str | None]:
    """Seconds of ``m:ss`` / ``h:mm:ss(.f)``; a problem when a minutes or seconds field is 60 or more."""
    parts = [float(x) for x in clock.split(":")]
    if any(x >= 60 for x in parts[1:]):
        return float("nan"), f"impossible clock time {clock}"
    return parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) == 3 else 0.0), None


def _number_value(num: str) -> tuple[float, str | None]:
    """A plain number, or a decimal comma (``12,5`` -> 12.5); three decimals (``1,000``) are ambiguous."""
    if "," not in num:
        return float(num), None
    whole, frac = num.split(",")
    if len(frac) > 2:
        return float("nan"), f"ambiguous number {num} (decimal or thousands separator?)"
    return float(f"{whole}.{frac}"), None


def _enclosed(text: str, start: int, end: int) -> bool:
    """True for ``(a,b)`` / ``[a,b]``: a comma between two numbers in brackets separates them."""
    return text[:start].rstrip().endswith(("(", "[")) and text[end:].lstrip().startswith((")", "]"))


def _scan_tokens(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    for m in _TOKEN.finditer(text):
        factor: float | None
        problem: str | None = None
        if m.group("cm") is not None:
            value, explicit, factor = int(m.group("cm")) * 60 + float(m.group("cs")), True, 1.0
            if float(m.group("cs")) >= 60:
                value, problem = float("nan"), f"impossible time {m.group(0).strip()}"
        elif m.group("clock") is not None:
            value, problem = _clock_value(m.group("clock"))
            explicit, factor = True, 1.0
        else:
            num = m.group("num")
            if "," in num and _enclosed(text, m.start("num"), m.end()):  # "(12,5)": two numbers
                a, b = num.split(",")
                cut = m.start("num") + len(a)
                toks.append(_Tok(float(a), m.start("num"), cut, False, None, False))
                toks.append(_Tok(float(b), cut + 1, m.end("num"), False, None, False))
                continue
            unit = (m.group("unit") or "").lower()
            factor_opt = 60.0 if _IS_MIN.fullmatch(unit) else 3600.0 if _IS_HOUR.fullmatch(unit) else None
            if unit and factor_opt is None:
                factor_opt = 1.0
            value, problem = _number_value(num)
            explicit, factor = bool(unit), factor_opt
            if factor is not None:
                value *= factor
        signed = m.group("sign") is not None
        if signed:
            gap = text[toks[-1].end : m.start()] if toks else None
            if gap is not None and gap.strip() == "":  # "10 -5": the minus is a separator, not a sign
                signed = False
        start = m.start() if signed else m.start() + (1 if m.group("sign") else 0)
        toks.append(_Tok(-value if signed else value, start, m.end(), explicit, factor, signed, problem))
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


_Win = tuple[float, float, str | None]  # start, end as stated; why it is not a valid time (None: it is)


def _text_windows(text: str) -> tuple[list[_Win], str]:
    toks = _scan_tokens(text)
    pairs: list[tuple[int, float, float, str | None]] = []
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
            pairs.append((a.start, va, b.value, a.problem or b.problem))
            used[i] = used[i + 1] = True
            i += 2
            continue
        i += 1
    # starts at X ... ends at Y
    pending: _Tok | None = None
    kw_pairs: list[tuple[int, float, float, str | None]] = []
    prev_end = 0
    for k, t in enumerate(toks):
        ctx = text[max(prev_end, t.start - 80) : t.start]  # a keyword, then at most 30 non-digits
        prev_end = t.end
        if used[k]:
            continue
        if _END_KW.search(ctx) and pending is not None:
            kw_pairs.append((pending.start, pending.value, t.value, pending.problem or t.problem))
            pending = None
        elif _START_KW.search(ctx) and _is_time_context(text, t, None):
            pending = t
    if pairs or kw_pairs:
        src = "text" if pairs else "keywords"
        return [(v0, v1, why) for _, v0, v1, why in sorted(pairs + kw_pairs, key=lambda x: x[0])], src
    for t in toks:
        ctx = text[max(0, t.start - 40) : t.start]
        if _START_KW.search(ctx) or _END_KW.search(ctx):
            continue  # "starts at 4 s" with no end is an incomplete span, not an instant
        if t.explicit and _INSTANT_KW.search(ctx[-25:]):
            return [(t.value, t.value, t.problem)], "instant"
    return [], ""


def _json_candidate(text: str, start: int) -> int:
    """End (exclusive) of the bracketed value opening at ``start``; -1 when it does not close within 5000
    characters or nests deeper than :data:`MAX_JSON_DEPTH` (never handed to ``json.loads``)."""
    depth = 0
    for j in range(start, min(len(text), start + 5000)):
        c = text[j]
        if c in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return -1
        elif c in "]}":
            depth -= 1
            if depth == 0:
                return j + 1
    return -1


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
        end = _json_candidate(text, m.start())
        pos = m.start() + 1
        if end < 0:
            continue
        try:
            obj = json.loads(text[m.start() : end])
        except ValueError:  # includes integers of more than 4300 digits
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


def _float(x: Any) -> float:
    """``float(x)`` for a JSON number; an integer too large for a float is infinite (rejected later)."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def _windows_from_obj(obj: Any) -> tuple[list[tuple[float, float]], list[float]]:
    if isinstance(obj, dict):
        for key in _JSON_KEYS:
            if key in obj:
                return _windows_from_obj(obj[key])
        lower = {str(k).lower(): v for k, v in obj.items()}
        for ks, ke in (("start", "end"), ("start_time", "end_time"), ("begin", "end"), ("s", "e")):
            if _num(lower.get(ks)) and _num(lower.get(ke)):
                return [(_float(lower[ks]), _float(lower[ke]))], []
        return [], []
    if isinstance(obj, list):
        if len(obj) >= 2 and all(_num(x) for x in obj[:2]) and len(obj) <= 3 and all(_num(x) for x in obj):
            return [(_float(obj[0]), _float(obj[1]))], [_float(obj[2])] if len(obj) == 3 else []
        wins: list[tuple[float, float]] = []
        scores: list[float] = []
        for item in obj:
            if isinstance(item, list) and 2 <= len(item) <= 3 and all(_num(x) for x in item):
                wins.append((_float(item[0]), _float(item[1])))
                if len(item) == 3:
                    scores.append(_float(item[2]))
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


def _span_problem(start: float, end: float, duration: float | None) -> str | None:
    """Why ``[start, end]`` (as stated, either order) is not a time span inside the video, or ``None``."""
    if not (math.isfinite(start) and math.isfinite(end)):
        return "not a finite number"
    if min(start, end) < 0:
        return "negative time"
    if duration is not None and max(start, end) > duration + DURATION_TOLERANCE:
        return f"ends after the video ({duration:g} s)"
    return None


def parse_spans(text: str, duration: float | None = None) -> ParseResult:
    """Every time span stated in ``text`` (see the module docstring), with a parse status.

    ``status``: ``"ok"`` (at least one valid span), ``"refusal"`` (no span and the answer says the event is
    absent), ``"empty"`` (blank answer) or ``"unparseable"`` (nothing read, or every stated span rejected:
    see ``problems``). With ``duration`` (seconds), a span ending more than :data:`DURATION_TOLERANCE` s
    after it is rejected. Never raises on any string; the work is bounded by :data:`MAX_ANSWER_CHARS`.
    """
    if text is None or not str(text).strip():
        return ParseResult([], [], "empty", "", (0, 0))
    text = str(text)
    used, span = _select_text(text)
    if len(used) > MAX_ANSWER_CHARS:
        too_long = f"answer is {len(used)} characters long; at most {MAX_ANSWER_CHARS} are parsed"
        return ParseResult([], [], "unparseable", used, span, problems=[too_long])
    cleaned = _clean(used)
    if not cleaned.strip():
        return ParseResult([], [], "empty", used, span)
    found: list[_Win] = []
    scores: list[float] = []
    if "[" in cleaned or "{" in cleaned:
        pairs, scores = _json_windows(cleaned)
        found = [(a, b, None) for a, b in pairs]
    source = "json" if found else ""
    if not found:
        found, source = _text_windows(cleaned)
    raw: list[tuple[float, float]] = []
    kept_scores: list[float] = []
    problems: list[str] = []
    for k, (a, b, stated) in enumerate(found):
        bad = stated or _span_problem(a, b, duration)
        if bad is not None:
            problems.append(f"span {a:g}-{b:g} rejected: {bad}")
            continue
        raw.append((a, b))
        if scores:
            kept_scores.append(scores[k])
    if raw:
        windows = [(min(s, e), max(s, e)) for s, e in raw]
        return ParseResult(windows, raw, "ok", used, span, source, kept_scores, problems)
    if problems:
        return ParseResult([], [], "unparseable", used, span, source, [], problems)
    status: ParseStatus = "refusal" if is_refusal(cleaned) else "unparseable"
    return ParseResult([], [], status, used, span)
