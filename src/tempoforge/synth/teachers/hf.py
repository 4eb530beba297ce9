"""``hf`` teacher: a local video LLM (``tempoforge.models.load``) answers the VER requests by generation.

A local VLM sees the video the way TEMPURA's student does (METHODS.md 2.2): the 1 fps frames as separate
images with the visual timestamp overlay (strategy ``overlay``; at most ``max_frames``, spread over the
whole video), instead of an API teacher's frame grids. Text-only requests (coherence, masked event) are
plain chat turns. Greedy decoding; replies are parsed by :mod:`tempoforge.synth.teachers.chat`, so a
model that does not answer in JSON yields ``malformed`` rejections, not a crash. Not thread-safe.
"""

from __future__ import annotations

from typing import Any

from tempoforge.synth.teachers.base import TeacherError, TeacherSettings, TeacherVideo
from tempoforge.synth.teachers.chat import ChatTeacher

__all__ = ["HFTeacher"]


class HFTeacher(ChatTeacher):
    name = "hf"
    concurrent = False

    def __init__(self, lm: Any, *, max_new_tokens: int = 512, max_frames: int = 32) -> None:
        self.lm = lm
        self.max_new_tokens = max_new_tokens
        self.max_frames = max_frames

    @classmethod
    def from_settings(cls, settings: TeacherSettings, *, lm: Any = None, **_: Any) -> HFTeacher:
        if lm is None:
            from tempoforge.models.load import load

            if not settings.model:
                raise TeacherError("no_model", "the hf teacher needs a local checkpoint folder (--model)")
            lm = load(settings.model, device=settings.device)
        return cls(lm, max_new_tokens=settings.max_tokens, max_frames=settings.hf_max_frames)

    def _inputs(self, prompt: str, video: TeacherVideo | None) -> dict[str, Any]:
        import torch

        from tempoforge.models.inputs import build_example, collate

        lm = self.lm
        if video is not None:
            ex = build_example(lm, prompt, video.frames(), "overlay", max_frames=self.max_frames)
            return collate([ex], pad_token_id=lm.token_ids["pad"])
        msgs = [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
        text = lm.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        ids = torch.tensor([lm.tokenizer(text, add_special_tokens=False)["input_ids"]], dtype=torch.long)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "mm_token_type_ids": torch.zeros_like(ids)}

    def ask(self, prompt: str, video: TeacherVideo | None) -> str:
        import torch

        lm = self.lm
        batch = self._inputs(prompt, video)
        dtype = next(lm.model.parameters()).dtype
        batch = {k: (v.to(lm.device, dtype) if k.startswith("pixel_values") else v.to(lm.device))
                 for k, v in batch.items()}
        ids = lm.token_ids
        with torch.inference_mode():
            out = lm.model.generate(**batch, max_new_tokens=self.max_new_tokens, do_sample=False,
                                    pad_token_id=ids["pad"], eos_token_id=[ids["eos"], ids["pad"]])
        new = out[0, batch["input_ids"].shape[1]:]
        return str(lm.tokenizer.decode(new, skip_special_tokens=True)).strip()
