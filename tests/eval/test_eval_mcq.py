"""Multiple-choice extraction and accuracy; Vinoground text / video / group scores."""

from __future__ import annotations

import pytest

from tempoforge.errors import UserError
from tempoforge.eval.metrics.mcq import extract_choice, score_mcq, score_vinoground

OPTS = ["He closes the door", "He opens the door", "He sits down", "He runs away"]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("(B)", "B"),
        ("B.", "B"),
        ("B", "B"),
        ("b)", "B"),
        ("Answer: B", "B"),
        ("the answer is b", "B"),
        ("I think the answer is (C) because he sits.", "C"),
        ("Best option: (D", "D"),
        ("The correct option is option c.", "C"),
        ("<think>(A) looks wrong</think><answer>B</answer>", "B"),
        ("He opens the door.", "B"),  # option text, exactly one match
        ("A man comes in. He opens the door.", "B"),  # leading "A" is a word, not a choice; text matches B
        ("A man walks in.", None),
        ("(F)", None),  # only 4 options: F is not a letter here
        ("", None),
    ],
)
def test_extract_choice(text: str, want: str | None) -> None:
    assert extract_choice(text, OPTS) == want


def test_option_text_ambiguity_is_a_failure() -> None:
    # both "He opens the door" and "He sits down" appear -> no single option -> None
    assert extract_choice("He opens the door and he sits down", OPTS) is None


def test_score_mcq_overall_per_category_and_failures() -> None:
    items = [
        {"id": "1", "answer": "(B)", "gt": "B", "category": "order"},
        {"id": "2", "answer": "Answer: C", "gt": 1, "category": "order"},  # gt index 1 = B: wrong
        {"id": "3", "answer": "no idea", "gt": "A", "category": "speed"},  # failed -> wrong
        {"id": "4", "answer": "d.", "gt": "(D)", "category": "speed"},
    ]
    out = score_mcq(items)
    # 2 of 4 right; order 1/2, speed 1/2; one failed extraction
    assert out["accuracy"] == 0.5 and out["failed"] == 1
    assert out["per_category"] == {
        "order": {"accuracy": 0.5, "correct": 1, "total": 2},
        "speed": {"accuracy": 0.5, "correct": 1, "total": 2},
    }
    with pytest.raises(UserError, match="'x'"):
        score_mcq([{"id": "x", "answer": "A", "gt": "?"}])


def test_vinoground_scores() -> None:
    items = [
        # all four right -> text, video, group
        {"id": "p1", "text_pos": "A", "text_neg": "B", "video_pos": "(A)", "video_neg": "B."},
        # text both right, one video wrong -> text only
        {"id": "p2", "text_pos": "A", "text_neg": "B", "video_pos": "B", "video_neg": "B"},
        # judged booleans: video both right, text one wrong -> video only
        {
            "id": "p3",
            "text_pos_correct": True,
            "text_neg_correct": False,
            "video_pos_correct": True,
            "video_neg_correct": True,
        },
        # nothing right
        {"id": "p4", "text_pos": "B", "text_neg": "A", "video_pos": "B", "video_neg": "A"},
    ]
    out = score_vinoground(items)
    # text: p1, p2 -> 2/4; video: p1, p3 -> 2/4; group: p1 -> 1/4
    assert out == {"text": 0.5, "video": 0.5, "group": 0.25, "total": 4}
    with pytest.raises(UserError, match="missing answer 'video_neg'"):
        score_vinoground([{"id": "p", "text_pos": "A", "text_neg": "B", "video_pos": "A"}])
