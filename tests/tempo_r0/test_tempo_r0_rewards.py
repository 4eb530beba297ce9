"""GRPO rewards (train/rewards): hand-computed values, built on the evaluation's parser and IoU."""

from __future__ import annotations

import pytest

from tempoforge.errors import UserError
from tempoforge.train.rewards import (
    REWARDS,
    compute_rewards,
    format_reward,
    get_reward,
    iou_penalty_reward,
    iou_reward,
    multispan_reward,
    refusal_penalty_reward,
    refusal_reward,
)

REFUSE = "<think>no red star</think><answer>The event does not appear in the video.</answer>"


def ans(s: float, e: float) -> str:
    return f"<think>look</think><answer>From {s:g} to {e:g} seconds.</answer>"


@pytest.mark.parametrize(("text", "expected"), [
    ("<think>a</think><answer>b</answer>", 1.0),
    ("  <think>\nstep 1\nstep 2\n</think>\n<answer>From 1 to 2 seconds.</answer>\n", 1.0),  # whitespace, lines
    ("<think></think><answer></answer>", 1.0),  # empty bodies still the format
    ("<answer>b</answer>", 0.0),  # no think block
    ("<think>a</think><answer>b</answer> extra", 0.0),  # trailing text
    ("<think>a</think>so<answer>b</answer>", 0.0),  # text between the blocks
    ("<think>a<think>b</think><answer>c</answer>", 0.0),  # nested tag
    ("<think>a</think><answer>b</answer><answer>c</answer>", 0.0),  # two answers
    ("<think>a</think><answer>b", 0.0),  # unclosed
    ("<THINK>a</THINK><ANSWER>b</ANSWER>", 0.0),  # tags are case-sensitive
    ("", 0.0),
])
def test_format_reward(text, expected):
    assert format_reward([text]) == [expected]


def test_iou_reward_by_hand():
    completions = [
        ans(4, 8),  # GT [2, 6]: inter 2, union 4 + 4 - 2 = 6 -> 1/3
        ans(11, 13),  # GT [0,2],[10,14]: best is [10,14]: inter 2, union 4 -> 0.5
        "I have no idea",  # unparseable -> 0
        REFUSE,  # refusal -> 0
        ans(5, 5),  # zero-length pred in [4, 6]: inter 0 -> 0
        ans(5, 5),  # zero-length pred on zero-length GT [5, 5]: 0/0 -> 0 (temporal_iou)
        "<answer>from 6 to 2</answer>",  # reversed: parse_spans normalises to [2, 6] = GT -> 1
        ans(1, 2),  # irrelevant sample (no GT) -> 0
    ]
    spans = [[[2, 6]], [[0, 2], [10, 14]], [[2, 6]], [[2, 6]], [[4, 6]], [[5, 5]], [[2, 6]], []]
    got = iou_reward(completions, spans=spans)
    assert got == pytest.approx([1 / 3, 0.5, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0], abs=1e-12)


def test_iou_penalty_reward_by_hand():
    completions = [ans(4, 8), ans(2, 6), ans(4.5, 9), ans(4, 8), ans(0, 30)]
    spans = [[[2, 6]], [[2, 6]], [[0, 4], [5, 9]], [[2, 6]], [[2, 6]]]
    durations = [10.0, 10.0, 20.0, None, 10.0]
    got = iou_penalty_reward(completions, spans=spans, duration=durations)
    expected = [
        1 / 3 * (1 - 2 / 10) * (1 - 2 / 10),  # IoU 1/3, ds = 2, de = 2, D = 10 -> 0.213333
        1.0,  # exact
        (4 / 4.5) * (1 - 0.5 / 20) * (1 - 0 / 20),  # best GT [5, 9]: inter 4, union 4.5; ds = -0.5 -> 0.866667
        1 / 3,  # no duration: plain IoU (stated deviation)
        0.0,  # IoU 4/30, ds = -2 -> 0.8, de = 24 -> 1 - 2.4 clipped to 0 -> 0
    ]
    assert got == pytest.approx(expected, abs=1e-12)


def test_refusal_reward_table():
    completions = [ans(4, 8), REFUSE, "garbage", ans(1, 2), REFUSE, "", "<answer>It is not present.</answer>"]
    spans = [[[2, 6]], [[2, 6]], [[2, 6]], [], [], [], []]
    relevant = [True, True, True, False, False, False, False]
    got = refusal_reward(completions, spans=spans, relevant=relevant)
    # relevant + span -> IoU 1/3; relevant + refusal -> 0; relevant + garbage -> 0;
    # irrelevant + span -> 0; irrelevant refused -> 1; irrelevant empty -> 0 (stated deviation); "not present" -> 1
    assert got == pytest.approx([1 / 3, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0], abs=1e-12)
    pen = refusal_penalty_reward(completions[:1], spans=spans[:1], relevant=relevant[:1], duration=[10.0])
    assert pen == pytest.approx([1 / 3 * 0.8 * 0.8], abs=1e-12)


def test_refusal_reward_relevance_from_spans_and_errors():
    # without the relevant field, no GT spans means irrelevant
    assert refusal_reward([REFUSE, REFUSE], spans=[[], [[1, 2]]]) == [1.0, 0.0]
    with pytest.raises(ValueError, match="relevant query needs ground-truth spans"):
        refusal_reward([REFUSE], spans=[[]], relevant=[True])


def test_multispan_reward_by_hand():
    gt = [[0, 2], [10, 14]]
    completions = [
        "From 0 to 2 seconds. From 10 to 12 seconds.",  # IoUs 1 and 2/4 -> (1 + 0.5) / 2 = 0.75
        "From 0 to 2 seconds.",  # one of two moments -> 1 / 2
        "From 0 to 2 seconds. From 10 to 14 seconds. From 20 to 22 seconds.",  # extra span -> 2 / 3
        "nothing",  # 0
    ]
    got = multispan_reward(completions, spans=[gt] * 4)
    assert got == pytest.approx([0.75, 0.5, 2 / 3, 0.0], abs=1e-12)
    # one-to-one: two predictions cannot both match the single GT [0, 4]; [0,4] wins (IoU 1) -> 1 / 2
    assert multispan_reward(["From 0 to 4 seconds. From 0 to 2 seconds."], spans=[[[0, 4]]]) == [0.5]


def test_compute_rewards_weights_parts_and_errors():
    total, parts = compute_rewards(["format", "iou"], [ans(4, 8), "x"], weights=[1.0, 0.5], spans=[[[2, 6]], [[2, 6]]])
    assert total == pytest.approx([1 + 0.5 / 3, 0.0])  # format 1 + 0.5 * IoU 1/3
    assert parts == {"format": [1.0, 0.0], "iou": pytest.approx([1 / 3, 0.0])}
    with pytest.raises(ValueError, match="one entry per completion"):
        iou_reward(["a", "b"], spans=[[[1, 2]]])
    with pytest.raises(UserError, match="unknown reward"):
        get_reward("nope")
    assert set(REWARDS) == {"format", "iou", "iou_penalty", "refusal", "refusal_penalty", "multispan"}


def test_rewards_use_the_evaluation_parser_and_iou():
    """No second parser or IoU: the reward modules import the evaluation's."""
    import inspect

    import tempoforge.train.rewards._fields as f
    import tempoforge.train.rewards.grounding as g
    import tempoforge.train.rewards.multispan as m
    from tempoforge.eval.metrics import iou
    from tempoforge.eval.parsing import parse_spans

    assert f.parse_spans is parse_spans and g.temporal_iou is iou.temporal_iou
    assert m.temporal_iou_matrix is iou.temporal_iou_matrix
    for mod in (f, g, m):
        assert "re.compile" not in inspect.getsource(mod)
