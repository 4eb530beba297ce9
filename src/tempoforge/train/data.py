"""Training data plumbing shared by every trainer: supervised items, their dataset and the batch collator.

How a video becomes frames (``VideoSettings``, the frame cache, ``load_frames``, ``resolve_video``) is the
one path of ``models/video.py``, shared with prediction; this file only adds what training needs on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from tempoforge.models.inputs import Example, build_example, collate
from tempoforge.models.video import VideoSettings, load_frames

__all__ = ["ExampleCollator", "ExampleDataset", "SFTItem"]


@dataclass(frozen=True)
class SFTItem:
    """One supervised example: a prompt about a video and the target answer."""

    id: str
    video: str  # "" for a text-only item
    prompt: str
    answer: str
    masked: tuple[tuple[float, float], ...] = ()  # spans whose frames are black, no timestamp (TEMPURA)


class ExampleDataset(torch.utils.data.Dataset[Example]):
    """``SFTItem``s tokenised lazily with ``build_example`` (labels on the answer only)."""

    def __init__(self, lm: Any, items: list[SFTItem], settings: VideoSettings) -> None:
        self.lm, self.items, self.settings = lm, items, settings

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Example:
        it = self.items[i]
        if not it.video:  # text-only item (text instruction data mixed in; see train/distributed.py)
            from tempoforge.train.distributed import text_example

            return text_example(self.lm, it.prompt, it.answer)
        frames = load_frames(it.video, self.settings)
        return build_example(self.lm, it.prompt, frames, self.settings.timestamps, answer=it.answer,
                             max_pixels=self.settings.max_pixels,
                             masked_spans=it.masked or None)


class ExampleCollator:
    """Right-padded training batches from ``Example``s (what ``transformers.Trainer`` calls per step)."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, examples: list[Example]) -> dict[str, torch.Tensor]:
        return collate(examples, pad_token_id=self.pad_token_id, padding_side="right")
