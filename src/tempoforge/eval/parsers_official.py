"""The official scorers' own answer parsers, reimplemented by name (METRICS.md sections 2 and 4).

They differ from each other, and from :mod:`tempoforge.eval.parsing`, on purpose: a published number is
only reproducible with the parser that produced it. Each function follows the original regexes and
control flow (read from the public sources named below), quirks included; our code, not a copy.

- :func:`parse_lmms_eval_tvg` — ``lmms_eval/tasks/charades_sta/eval_tvg.py`` ``extract_time`` as of
  lmms-eval HEAD (TimeChat lineage, rewritten in commit f1e52005): lower-case, drop the example prompt,
  replace EVERY ``"to"`` substring with ``"-"``; then, reading ONLY sentences (split on ``!?\\n``) that
  contain a keyword: ``a - b`` / ``a – b`` ranges of the first such sentence with one, else the first
  number of each keyword sentence paired, else hh:mm:ss (unreachable), else a ``12s - 15s`` fallback;
  swap; FIRST pair only. An answer with no keyword (``"7 - 14"``, ``"From 4 to 11 seconds."``) is invalid.
- :func:`parse_lmms_eval_harness` — current ``charades_sta/utils.py`` ``extract_time``: same
  pre-processing; per keyword sentence (all sentences when none has a keyword): clock ranges, then
  ``a - b`` / ``a – b`` ranges, then clock times paired, then the first number of each sentence paired,
  then a permissive ``12s - 15s`` fallback; swap; first pair only.
- :func:`parse_etbench_tvg` — E.T.Bench ``compute_metrics.py`` ``tvg_format``: ``a - b`` pairs, then
  ``a to b``, then keyword sentences, then hh:mm:ss; every pair swapped; ``None`` when nothing is found.
- :func:`parse_etbench_dvc` — E.T.Bench ``dvc_format``: ``a - b`` pairs with the text between them as
  captions (fragments of <= 5 characters dropped, both lists cut to the same length), the
  ``start time: X`` / ``end time: Y`` form, then a per-line fallback; each window sorted to [min, max].

Deviations (documented values instead of crashes, METRICS.md preamble): where the original would raise
on a malformed number (``float("1..2")``, matched by ``\\d+\\.*\\d*``), the ETBench TVG parser returns
``None`` (a counted failure); the lmms-eval number pattern ``\\d+(?:\\.\\d+)?`` cannot produce one. The
hh:mm:ss fallback of ``tvg_format`` calls ``str.count`` on a regex tuple, and the one of ``eval_tvg.py``
(correct, single group) is reached only when the number stage before it found fewer than two numbers,
which leaves fewer than two clock times too: neither can produce a window; both are kept (fixed) for
readability only.
"""

from __future__ import annotations

import re

__all__ = [
    "LMMS_EVAL_EXAMPLE_PROMPT",
    "parse_etbench_dvc",
    "parse_etbench_tvg",
    "parse_etbench_vhd",
    "parse_lmms_eval_harness",
    "parse_lmms_eval_tvg",
]

Window = list[float]

LMMS_EVAL_EXAMPLE_PROMPT = "a specific example is : 20.8 - 30.0 seconds"
"""Removed from the lower-cased answer before parsing by both lmms-eval parsers."""

_KEYWORDS = ("starts", "ends", "happens in", "start time", "end time", "start", "end", "happen")

# E.T.Bench tvg_format (and eval_tvg.py before f1e52005): `\d+\.*\d*` (zero or more dots: "5.", "5..1").
_PAIR_DASH = re.compile(r"(\d+\.*\d*)\s*-\s*(\d+\.*\d*)")
_PAIR_TO = re.compile(r"(\d+\.*\d*)\s* to \s*(\d+\.*\d*)")
_FIRST_NUMBER = re.compile(r"\b(\d+\.\d+\b|\b\d+)\b")
_HMS = re.compile(r"\b(\d{1,2}:\d{2}:\d{2})\b")

# lmms-eval harness (utils.py); _H_RANGE, _H_NUMBER and _H_FALLBACK are also eval_tvg.py's main_pattern,
# time_number_pattern and fallback_pattern (L37-40), and _HMS its time_format_pattern (L39).
_H_CLOCK_RANGE = re.compile(r"\b(\d{1,2}:\d{2}(?::\d{2})?)\s*[–-]\s*(\d{1,2}:\d{2}(?::\d{2})?)\b")
_H_RANGE = re.compile(r"(\d+(?:\.\d+)?)\s*[–-]\s*(\d+(?:\.\d+)?)")
_H_NUMBER = re.compile(r"\b(\d+(?:\.\d+)?)\b")
_H_CLOCK = re.compile(r"\b(\d{1,2}:\d{2}(?::\d{2})?)\b")
_H_FALLBACK = re.compile(r"(\d+(?:\.\d+)?)\s*s?\s*[–-]\s*(\d+(?:\.\d+)?)\s*s?")


def _swap(pairs: list[tuple[float, float]] | list[list[float]]) -> list[Window]:
    """``[start, end] if end > start else [end, start]`` for every pair (the scorers' rule)."""
    return [[float(s), float(e)] if e > s else [float(e), float(s)] for s, e in pairs]


def _keyword_sentences(text: str) -> tuple[list[str], list[str]]:
    sentences = re.split(r"[!?\n]", text)
    return sentences, [s for s in sentences if any(k in s for k in _KEYWORDS)]


def _first_numbers_paired(candidates: list[str], pattern: re.Pattern[str]) -> list[tuple[float, float]]:
    """First number of each candidate sentence, odd count truncated, paired in order."""
    times = []
    for sentence in candidates:
        found = pattern.findall(sentence)
        if found:
            times.append(float(found[0]))
    times = times[: len(times) // 2 * 2]
    return [(times[i], times[i + 1]) for i in range(0, len(times), 2)]


def _hms_paired(candidates: list[str]) -> list[tuple[float, float]]:
    times: list[float] = []
    for sentence in candidates:
        found = _HMS.findall(sentence)
        if found:
            h, m, s = (int(x) for x in found[0].split(":"))
            times.append(float(h * 3600 + m * 60 + s))
    times = times[: len(times) // 2 * 2]
    return [(times[i], times[i + 1]) for i in range(0, len(times), 2)]


def _first_sentence_pairs(candidates: list[str], pattern: re.Pattern[str]) -> list[tuple[float, float]]:
    """Every ``(a, b)`` match of ``pattern`` in the FIRST candidate sentence that has one (``[]`` if none)."""
    for sentence in candidates:
        found = pattern.findall(sentence)
        if found:
            return [(float(a), float(b)) for a, b in found]
    return []


def parse_lmms_eval_tvg(text: str) -> list[Window]:
    """``eval_tvg.py`` ``extract_time`` (lmms-eval HEAD): at most one ``[start, end]``, ``[]`` when none.

    Followed line by line (lmms-eval ``lmms_eval/tasks/charades_sta/eval_tvg.py`` L20-107, unchanged since
    commit f1e52005, 2025-10-17, through HEAD 75571cfe):

    1. ``text.lower()``, remove :data:`LMMS_EVAL_EXAMPLE_PROMPT`, replace EVERY ``"to"`` with ``"-"`` (L22:
       ``"from 4 to 11"`` -> ``"from 4 - 11"``, ``"photo"`` -> ``"pho-"``).
    2. Split on ``!``, ``?`` and newline (NOT on ``.``) and keep only the *candidate* sentences that contain
       a keyword substring (``starts ends happens in start time end time start end happen``; ``"weekend"``
       counts). EVERY stage below reads candidates only, so an answer without a keyword never parses:
       ``"7 - 14"`` and ``"From 4.0 to 11.0 seconds."`` give ``[]`` (L29-33, L47).
    3. Range stage (L47-51): in the first candidate sentence with a ``(\\d+(?:\\.\\d+)?)\\s*[–-]\\s*(...)``
       match, all its matches (hyphen or en dash; no sign, so ``-1 - 5`` is ``(1, 5)``).
    4. Else the number stage (L57-65): the first ``\\b(\\d+(?:\\.\\d+)?)\\b`` of each candidate sentence
       (``"5.2s"`` reads as ``5``: no word boundary between ``2`` and ``s``), an odd count truncated,
       paired in order. One sentence ``"starts at 4 and ends at 11"`` gives one number, so nothing; a
       two-line ``hh:mm:ss`` answer gives ``(0, 0)`` (the first number of ``"00:00:18"`` is ``00``).
    5. Else the ``hh:mm:ss`` stage (L69-86): the first clock time of each candidate, paired. Unreachable:
       every sentence with a clock time also has a number for stage 4, so stage 4 already paired them.
    6. Else the fallback (L89-97): like stage 3 but allowing an ``s`` unit before the dash and after the
       end (``"12s - 15s"``), again in the first candidate sentence with a match.
    7. Each pair becomes ``[a, b]`` if ``b > a`` else ``[b, a]``; only the first is kept (L99-107).

    The caller (``__main__``, L133-136) replaces anything but exactly one window by ``[gt_end + 10,
    gt_end + 20]``: a fixed window, not a random one, whose IoU with the GT is always 0. The numbers cannot
    fail ``float()`` (the pattern has at most one dot), so no answer makes this parser raise.
    """
    para = text.lower().replace(LMMS_EVAL_EXAMPLE_PROMPT, "").replace("to", "-")
    _, candidates = _keyword_sentences(para)
    pairs = _first_sentence_pairs(candidates, _H_RANGE)
    if not pairs:
        pairs = _first_numbers_paired(candidates, _H_NUMBER)
    if not pairs:
        pairs = _hms_paired(candidates)
    if not pairs:
        pairs = _first_sentence_pairs(candidates, _H_FALLBACK)
    return _swap(pairs)[:1]


def _clock_to_seconds(t: str) -> float:
    parts = [float(x) for x in t.split(":")]
    if len(parts) == 3:
        return parts[0] * 3600 + parts[1] * 60 + parts[2]
    return parts[0] * 60 + parts[1]


def parse_lmms_eval_harness(text: str) -> list[Window]:
    """Current lmms-eval ``charades_sta/utils.py`` ``extract_time``: at most one window, ``[]`` if none."""
    para = text.lower().replace(LMMS_EVAL_EXAMPLE_PROMPT, "").replace("to", "-")
    sentences, candidates = _keyword_sentences(para)
    if not candidates:
        candidates = sentences
    pairs: list[tuple[float, float]] = []
    for sentence in candidates:
        found = _H_CLOCK_RANGE.findall(sentence)
        if found:
            pairs = [(_clock_to_seconds(a), _clock_to_seconds(b)) for a, b in found]
            break
    if not pairs:
        for sentence in candidates:
            found = _H_RANGE.findall(sentence)
            if found:
                pairs = [(float(a), float(b)) for a, b in found]
                break
    if not pairs:
        times = [_clock_to_seconds(t) for sentence in candidates for t in _H_CLOCK.findall(sentence)]
        times = times[: len(times) // 2 * 2]
        pairs = [(times[i], times[i + 1]) for i in range(0, len(times), 2)]
    if not pairs:
        pairs = _first_numbers_paired(candidates, _H_NUMBER)
    if not pairs:
        for sentence in candidates:
            found = _H_FALLBACK.findall(sentence)
            if found:
                pairs = [(float(a), float(b)) for a, b in found]
                break
    return _swap(pairs[:1])


def parse_etbench_tvg(text: str) -> list[Window] | None:
    """E.T.Bench ``tvg_format``: every parsed window (swapped to start <= end), or ``None``."""
    ans = text.lower()
    _, candidates = _keyword_sentences(ans)
    try:
        pairs: list[tuple[float, float]] = [(float(a), float(b)) for a, b in _PAIR_DASH.findall(ans)]
        if not pairs:
            pairs = [(float(a), float(b)) for a, b in _PAIR_TO.findall(ans)]
        if not pairs:
            pairs = _first_numbers_paired(candidates, _FIRST_NUMBER)
        if not pairs:
            pairs = _hms_paired(candidates)
    except ValueError:  # float("5..1"): the original raises; documented as a failed (unparseable) answer
        return None
    return _swap(pairs) or None


_VHD_NUMBER = re.compile(r"[-+]?\d*\.\d+|[-+]?\d+")


def parse_etbench_vhd(text: str) -> float | None:
    """E.T.Bench ``vhd_eval``: the first signed number in the answer (``None`` when there is none)."""
    match = _VHD_NUMBER.search(text)
    return float(match.group(0)) if match else None


# ----------------------------------------------------------------------------------------------- DVC
_DVC_PAIR = re.compile(r"(\d+\.*\d*)\s*-\s*(\d+\.*\d*)")
_DVC_PAIR_STR = re.compile(r"(\d+\.*\d*\s*-\s*\d+\.*\d*)")
_DVC_START = re.compile(r"(?:start(?:ing)? time: (\d+\.*\d*)(?:s| seconds)?)", re.DOTALL | re.IGNORECASE)
_DVC_END = re.compile(r"(?:end(?:ing)? time: (\d+\.*\d*)(?:s| seconds)?)", re.DOTALL | re.IGNORECASE)
_DVC_START_END = re.compile(r"start time (\d+\.*\d*), end time (\d+\.*\d*)")


class _DvcParseError(Exception):
    """Raised where the original's ``try`` turns an exception into ``(None, None)``."""


def _dvc_from_paragraph(paragraph: str) -> tuple[list[Window], list[str]]:
    """``extract_time_from_paragraph``."""
    paragraph = paragraph.lower()
    timestamps: list[Window] = []
    captions: list[str] = []
    pairs = _DVC_PAIR.findall(paragraph)
    if pairs:
        try:
            timestamps = [[float(a), float(b)] for a, b in pairs]
        except ValueError as err:
            raise _DvcParseError from err
        rest = paragraph
        for time_string in _DVC_PAIR_STR.findall(paragraph):
            rest = rest.replace(time_string, "\n")
        captions = rest.replace("seconds", "").split("\n")
    if not timestamps:
        starts, ends = _DVC_START.findall(paragraph), _DVC_END.findall(paragraph)
        if starts and ends:
            try:
                timestamps = [[float(s), float(e)] for s, e in zip(starts, ends)]
            except ValueError as err:
                raise _DvcParseError from err
            captions = re.findall(r"description: (.*)", paragraph) or re.findall(r"\*\s*(.*)", paragraph)
    if not timestamps and _DVC_START_END.findall(paragraph):
        raise _DvcParseError  # the original asserts `len(timestamps) <= 0` right after matching this form
    captions = [c.strip().strip(", ").rstrip() for c in captions if len(c) > 5]
    n = min(len(timestamps), len(captions))
    return timestamps[:n], captions[:n]


def _dvc_time_part(time_part: str) -> list[str]:
    """``extract_time_part`` (radius 20 s around a single instant)."""
    radius = 20
    found = re.findall(r"\d+\.*\d*\s*-\s*\d+\.*\d*", time_part)
    if not found:
        if time_part.count(":") == 1:
            clock = re.findall(r"\d+\.*\d*:\d+\.*\d*", time_part)[0]
            t = int(clock.split(":")[0]) * 60 + int(clock.split(":")[1])
            found = [f"{t - radius} - {t + radius}"] if t > radius else [f"{t} - {t + 2 * radius}"]
        elif time_part.count(":") == 2:
            start, end = re.findall(r"\d+\.*\d*:\d+\.*\d*", time_part)
            s = int(start.split(":")[0]) * 60 + int(start.split(":")[1])
            e = int(end.split(":")[0]) * 60 + int(end.split(":")[1])
            found = [f"{s} - {e}"]
    if not found:
        found = re.findall(r"\d+\.*\d*(?!\.)", time_part)
        if len(found) == 1:
            x = float(found[0])
            found = [f"{x - radius} - {x + radius}"] if x > radius else [f"{x} - {x + 2 * radius}"]
        elif len(found) == 2:
            found = [f"{found[0]} - {found[1]}"]
    return found


def _dvc_fallback(caption: str) -> tuple[list[Window], list[str]]:
    """``dvc_format``'s per-line fallback: at most ONE window (the loop stops after the first success)."""
    if "\n" in caption:
        caps = [c for c in caption.split("\n") if len(c) > 7]
    else:
        caps = [c + "." for c in caption.split(".") if len(c) > 7]
    for cap in caps:
        try:
            parts = [p.strip(",") for p in cap.split("seconds")]
            found = _dvc_time_part(parts[0])
            if not found:
                continue
            time_part = found[0]
            start = round(float(time_part.split("-")[0].strip()), 2)
            end = round(float(time_part.split("-")[1].strip()), 2)
            return [[start, end]], [parts[-1].strip()]
        except (ValueError, IndexError):
            continue
    return [], []


def parse_etbench_dvc(text: str) -> tuple[list[Window], list[str]] | tuple[None, None]:
    """E.T.Bench ``dvc_format``: ``(windows sorted to [min, max], captions)`` or ``(None, None)``."""
    try:
        timestamps, sentences = _dvc_from_paragraph(text)
    except _DvcParseError:
        return None, None
    if not timestamps:
        timestamps, sentences = _dvc_fallback(text)
    if not timestamps:
        return None, None
    return [[min(w), max(w)] for w in timestamps], sentences
