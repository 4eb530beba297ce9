"""TEMPLE's self-generated contextual clip captions (METHODS.md 1.2), by the model being trained.

- clip 0: "Describe this video in detail." with the clip;
- clip i > 0: a 2-clip window (clip i-1 as context, clip i as target): describe clip 2, analyse the
  connection, then write a detailed caption for clip 2. Post-processing keeps the last line, strips a
  "Caption:" prefix and markdown bold, rewrites "video clip 2" -> "this video clip" and "video clip 1" ->
  "the previous clip".
Sampling: temperature 0.7, repetition penalty 1.05 (the paper's settings).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from tempoforge.io import sample
from tempoforge.models.inputs import build_example, collate

__all__ = ["FIRST_CLIP_PROMPT", "WINDOW_PROMPT", "ModelCaptioner", "clean_caption"]

FIRST_CLIP_PROMPT = "Describe this video in detail."
WINDOW_PROMPT = (
    "This video consists of two clips. First describe video clip 2, then analyse the connection between "
    "video clip 1 and video clip 2, and finally write a detailed caption for video clip 2 on the last line."
)


def clean_caption(text: str) -> str:
    """METHODS 1.2 post-processing of a generated caption."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    last = re.sub(r"^\**\s*caption\s*:\s*\**\s*", "", last, flags=re.IGNORECASE)
    last = last.replace("**", "")
    last = re.sub(r"video clip 2", "this video clip", last, flags=re.IGNORECASE)
    last = re.sub(r"video clip 1", "the previous clip", last, flags=re.IGNORECASE)
    return last.strip()


class ModelCaptioner:
    """Captions clips with a loaded model (``tempoforge.models.load``) by sampling."""

    def __init__(self, lm: Any, *, frames_per_clip: int = 2, timestamps: str = "mrope", max_new_tokens: int = 64,
                 temperature: float = 0.7, repetition_penalty: float = 1.05, seed: int = 0) -> None:
        self.lm, self.frames_per_clip, self.timestamps = lm, frames_per_clip, timestamps
        self.gen = {"max_new_tokens": max_new_tokens, "do_sample": True, "temperature": temperature,
                    "repetition_penalty": repetition_penalty}
        self.seed = seed

    @classmethod
    def from_path(cls, path: str | Path, **kwargs: Any) -> ModelCaptioner:
        from tempoforge.models.load import load

        return cls(load(path), **kwargs)

    def _generate(self, prompt: str, frames: Any) -> str:
        ex = build_example(self.lm, prompt, frames, self.timestamps)
        batch = collate([ex], pad_token_id=self.lm.token_ids["pad"], padding_side="left")
        batch.pop("labels", None)
        if not self.lm.family.takes_second_per_grid_ts:
            batch.pop("second_per_grid_ts", None)
        torch.manual_seed(self.seed)
        with torch.no_grad():
            out = self.lm.model.generate(**batch, **self.gen)
        return str(self.lm.tokenizer.decode(out[0, batch["input_ids"].shape[1]:], skip_special_tokens=True))

    def clip_captions(self, video: str, spans: Sequence[tuple[float, float]]) -> list[str]:
        """One caption per clip; clip i is captioned with clip i-1 as context (2 frames each by default)."""
        k = self.frames_per_clip
        times = [s + (e - s) * (j + 0.5) / k for s, e in spans for j in range(k)]
        frames = sample(video, times=times, dedupe=False)
        caps = []
        for i in range(len(spans)):
            if i == 0:
                clip = frames.select(list(range(0, k)))
                caps.append(clean_caption(self._generate(FIRST_CLIP_PROMPT, clip)) or "nothing changes")
            else:
                window = frames.select(list(range((i - 1) * k, (i + 1) * k)))
                caps.append(clean_caption(self._generate(WINDOW_PROMPT, window)) or "nothing changes")
        return caps
