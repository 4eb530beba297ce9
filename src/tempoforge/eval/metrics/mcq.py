"""Multiple-choice accuracy (VideoMME / TempCompass style) and Vinoground text / video / group scores.

Option extraction (:func:`extract_choice`), first rule that fires wins, on the ``<answer>`` content when
present:

1. a bracketed letter: ``(B)``, ``[B]``, ``(b)``;
2. a keyword followed by a letter: ``Answer: B``, ``the answer is b``, ``Best option: (C``, ``option D``;
3. a leading letter: ``B``, ``B.``, ``B)``, ``B: ...``, ``b.`` (a bare leading capital followed by a word,
   as in ``A man opens...``, is NOT taken as an answer);
4. the text of exactly one option (case and punctuation insensitive) appears in the answer.

Otherwise the answer is a counted failure and scores as wrong. This is our own extraction, stricter than
VideoMME's ``extract_characters_regex`` (which takes the first capital A-D anywhere) — deviations are
deliberate: a letter inside an ordinary word is not an answer.

Vinoground (Zhang et al., 2024): each pair has two captions and two videos, and four questions. The
*text* score counts a pair when both text questions (given video i, pick caption i) are right; the
*video* score when both video questions (given caption i, pick video i) are right; the *group* score when
all four are right. Scores are fractions of pairs.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from tempoforge.errors import UserError

__all__ = ["extract_choice", "score_mcq", "score_vinoground"]

_LETTERS = string.ascii_uppercase


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def extract_choice(
    text: str, options: Sequence[str] | None = None, n_options: int | None = None
) -> str | None:
    """The option letter (``"A"``...) chosen in ``text``, or ``None`` when no rule finds one.

    ``options`` are the option texts in letter order (used for the text-match rule and to bound letters);
    ``n_options`` bounds the letters when ``options`` is not given (default 5: A-E).
    """
    if not text or not text.strip():
        return None
    m = re.findall(r"<answer>(.*?)(?:</answer>|$)", text, flags=re.IGNORECASE | re.DOTALL)
    body = m[-1] if m else text
    n = len(options) if options else (n_options or 5)
    letters = _LETTERS[:n]
    cls = f"[{letters}{letters.lower()}]"
    rules = (
        rf"[\(\[]\s*({cls})\s*[\)\]]",
        rf"\b(?:answer|option|choice)\s*(?:is|:)?\s*(?:option\s*)?[\(\[]?\s*({cls})\b(?![\w'])",
        rf"^\s*[\(\[]?({cls})\s*(?:[.):,]|$)",
    )
    for rule in rules:
        hit = re.search(rule, body, flags=re.IGNORECASE)
        if hit:
            return hit.group(1).upper()
    if options:
        said = f" {_norm(body)} "
        found = [i for i, opt in enumerate(options) if _norm(opt) and f" {_norm(opt)} " in said]
        if len(found) == 1:
            return letters[found[0]]
    return None


def _gt_letter(gt: Any, item_id: str) -> str:
    if isinstance(gt, int) and not isinstance(gt, bool):
        return _LETTERS[gt]
    if isinstance(gt, str) and gt.strip():
        letter = gt.strip().strip("().").upper()[:1]
        if letter in _LETTERS:
            return letter
    raise UserError(f"multiple-choice item {item_id!r}: 'gt' must be an option letter or index, got {gt!r}")


def score_mcq(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Accuracy overall and per ``category`` (fractions), with the count of answers with no choice.

    Each item: ``id``, ``answer`` (model text), ``gt`` (letter or 0-based index), optional ``options``
    (texts in letter order) and ``category``. Failed extractions count as wrong.
    """
    if not items:
        raise UserError("no multiple-choice items to score")
    per_cat: dict[str, list[int]] = {}
    correct = failed = 0
    for i, item in enumerate(items):
        item_id = str(item.get("id", i))
        if "gt" not in item:
            raise UserError(f"multiple-choice item {item_id!r}: missing field 'gt'")
        choice = extract_choice(str(item.get("answer", "")), item.get("options"))
        ok = choice is not None and choice == _gt_letter(item["gt"], item_id)
        failed += choice is None
        correct += ok
        cat = per_cat.setdefault(str(item.get("category", "all")), [0, 0])
        cat[0] += ok
        cat[1] += 1
    return {
        "accuracy": correct / len(items),
        "correct": correct,
        "total": len(items),
        "failed": failed,
        "per_category": {
            k: {"accuracy": c / t, "correct": c, "total": t} for k, (c, t) in sorted(per_cat.items())
        },
    }


def score_vinoground(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Vinoground text, video and group scores (fractions of pairs).

    Each item is one pair: ``id`` and four answers ``text_pos``, ``text_neg`` (given the positive /
    negative video, which caption? correct: ``A`` / ``B``) and ``video_pos``, ``video_neg`` (given the
    positive / negative caption, which video? correct: ``A`` / ``B``) — or booleans ``text_pos_correct``...
    when already judged. Optional ``gt`` overrides the expected letters, e.g. ``{"text_pos": "B", ...}``.
    """
    if not items:
        raise UserError("no Vinoground pairs to score")
    keys = ("text_pos", "text_neg", "video_pos", "video_neg")
    default = {"text_pos": "A", "text_neg": "B", "video_pos": "A", "video_neg": "B"}
    text = video = group = 0
    for i, item in enumerate(items):
        item_id = str(item.get("id", i))
        expect = {**default, **dict(item.get("gt") or {})}
        right: dict[str, bool] = {}
        for k in keys:
            if f"{k}_correct" in item:
                right[k] = bool(item[f"{k}_correct"])
            elif k in item:
                right[k] = extract_choice(str(item[k]), n_options=2) == str(expect[k]).upper()
            else:
                raise UserError(f"Vinoground pair {item_id!r}: missing answer {k!r}")
        t = right["text_pos"] and right["text_neg"]
        v = right["video_pos"] and right["video_neg"]
        text += t
        video += v
        group += t and v
    n = len(items)
    return {"text": text / n, "video": video / n, "group": group / n, "total": n}
