"""Format reward (Tempo-R0 / DeepSeek-R1 style, METHODS.md 4): 1 for ``<think>...</think><answer>...</answer>``.

The whole completion (surrounding whitespace stripped) must be exactly one ``<think>`` block followed by
one ``<answer>`` block, with only whitespace between them; anything before, after or in between scores
0. The tags are case-sensitive and the blocks may be multi-line. Nested or repeated tags score 0 (the
block contents may not contain another opening or closing tag of either kind). An empty ``<think>`` or
``<answer>`` body still counts as the format (the content is judged by the other rewards).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["format_reward"]

_TAGS = r"(?:(?!</?think>|</?answer>).)*"
_FORMAT = re.compile(rf"<think>{_TAGS}</think>\s*<answer>{_TAGS}</answer>", re.DOTALL)


def format_reward(completions: list[str], **sample_fields: Any) -> list[float]:
    """1.0 where the completion is ``<think>...</think><answer>...</answer>`` (whitespace-trimmed), else 0.0."""
    return [1.0 if _FORMAT.fullmatch(c.strip()) else 0.0 for c in completions]
