"""(prompt or messages, Frames, timestamp strategy) -> a model-ready batch, with frames and times always paired.

This is the one place where a video becomes model inputs, for prediction *and* training. Use it as::

    ex = build_example(lm, "When does the door open?", frames, "mrope", answer="From 2.0 to 4.5.")
    batch = collate([ex, ...], pad_token_id=lm.token_ids["pad"], padding_side="right")
    out = lm.model(**batch)                     # loss on the answer tokens only (labels)
    gen = lm.model.generate(**collate([build_example(lm, q, frames, "mrope")], ...), max_new_tokens=32)

Token layout of one example (the chat template renders the messages; its single
``<|vision_start|><|video_pad|><|vision_end|>`` is replaced by the vision blocks of the timestamp strategy,
laid out from its entry in ``tempoforge.timestamps``)::

    [prompt tokens incl. vision blocks ... "<|im_start|>assistant\\n"] [answer tokens "<|im_end|>\\n"]
     <------------------------- prompt_length -------------------->  <-- labels != -100 -->

``Example.labels`` is ``-100`` on the prompt and on padding, the answer ids elsewhere, so a trainer can
use it directly (next-token shifting is done by the model's loss). ``position_ids`` ``(3, L)`` are the
original-rule M-RoPE ids from the actual frame times (``positions.py``) and must be passed to the model
(``collate`` does); ``second_per_grid_ts`` is included for Qwen2.5-VL only (Qwen2-VL's ``generate``
rejects it) and ``mm_token_type_ids`` always (Qwen3-VL requires it).
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from tempoforge.errors import UserError
from tempoforge.io.overlay import burn_timestamps
from tempoforge.models.load import LoadedModel
from tempoforge.models.positions import (
    IMAGE,
    VIDEO,
    VisualSegment,
    group_start_times,
    mrope_position_ids,
    temporal_collisions,
    video_temporal_offsets,
)
from tempoforge.models.tensorize import Resample, tensorize_images, tensorize_video
from tempoforge.records import Frames
from tempoforge.timestamps import TimestampStrategy, get_strategy, group_marker_times

__all__ = ["Example", "build_batch", "build_example", "cap_frames", "check_coverage", "collate", "mask_frames",
           "to_messages"]

log = logging.getLogger(__name__)

VIDEO_PLACEHOLDER = "<|vision_start|><|video_pad|><|vision_end|>"
IGNORE_INDEX = -100


@dataclass
class Example:
    """One tokenised example; tensors are unbatched (see ``collate``)."""

    input_ids: torch.Tensor  # (L,)
    mm_token_type_ids: torch.Tensor  # (L,)  0 text, 1 image, 2 video
    position_ids: torch.Tensor  # (3, L)
    labels: torch.Tensor | None  # (L,)  -100 outside the answer; None without an answer
    prompt_length: int
    pixel_values_videos: torch.Tensor | None = None
    video_grid_thw: torch.Tensor | None = None
    second_per_grid_ts: list[float] | None = None
    pixel_values: torch.Tensor | None = None
    image_grid_thw: torch.Tensor | None = None
    frame_times: list[float] = field(default_factory=list)
    strategy: str = "mrope"  # the timestamp strategy it was built with ("text-only": no video)
    segments: list[VisualSegment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def to_messages(prompt: str | Sequence[dict[str, Any]], system: str | None = None) -> list[dict[str, Any]]:
    """A plain prompt becomes one user turn ``[video, text]``; message lists pass through (copied)."""
    if isinstance(prompt, str):
        msgs: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": prompt}]}]
    else:
        msgs = [dict(m) for m in prompt]
    if system is not None and (not msgs or msgs[0].get("role") != "system"):
        msgs.insert(0, {"role": "system", "content": system})
    return msgs


def cap_frames(frames: Frames, max_frames: int | None) -> Frames:
    """At most ``max_frames`` frames spread over the *whole* range (never a truncation), with a warning."""
    if max_frames is None or len(frames) <= max_frames:
        return frames
    if max_frames < 1:
        raise UserError(f"max_frames must be >= 1, got {max_frames}")
    idx = np.unique(np.linspace(0, len(frames) - 1, max_frames).round().astype(np.int64))
    out = frames.select(idx)
    msg = (f"{len(frames)} frames exceed max_frames={max_frames}: kept {len(idx)} spread over "
           f"{frames.times[0]:.2f}-{frames.times[-1]:.2f} s (the end of the video is kept)")
    out.warnings.append(msg)
    log.warning(msg)
    return out


def check_coverage(frames: Frames, duration: float | None, *, strict: bool = False) -> str | None:
    """A message when the frames stop well before ``duration`` (a frame cap dropped the end), else None.

    "Well before" = more than twice the median frame interval plus 0.5 s before the end. With ``strict``
    the message is raised as a :class:`UserError` instead of returned.
    """
    if duration is None or len(frames) == 0:
        return None
    t = frames.times
    step = float(np.median(np.diff(t))) if len(t) > 1 else duration
    gap = duration - float(t[-1])
    if gap <= 2 * step + 0.5:
        return None
    msg = (f"the sampled frames end at {t[-1]:.2f} s but the video lasts {duration:.2f} s: the last "
           f"{gap:.2f} s are not seen by the model (was the video truncated by a frame cap?)")
    if strict:
        raise UserError(msg)
    return msg


def _pad_times(times: list[float], multiple: int) -> list[float]:
    rem = (-len(times)) % multiple
    return times + [times[-1]] * rem


_Blocks = tuple[str, dict[str, Any], list[VisualSegment], list[str]]


def _vision_blocks(lm: LoadedModel, frames: Frames, strategy: TimestampStrategy, resample: Resample,
                   max_pixels: int | None, time_origin: float | None = None,
                   masked: np.ndarray | None = None) -> _Blocks:
    """The text that replaces the video placeholder, the vision tensors, the segments and warnings.

    Built from the strategy's fields alone (``timestamps/registry.py``): its pixels (``burn_in``), its
    layout on this family and the ``marker`` text before every block.
    """
    strategy = strategy.for_family(lm.family.native_text_timestamps)
    if strategy.burn_in:
        frames = burn_timestamps(frames, skip=masked)
    if strategy.layout == "images":
        return _image_blocks(lm, frames, strategy.marker, resample, max_pixels)
    if strategy.layout == "patches":
        return _patch_blocks(lm, frames, strategy.marker, resample, max_pixels)
    return _video_block(lm, frames, resample, max_pixels, time_origin)


def _image_blocks(lm: LoadedModel, frames: Frames, marker: Callable[[float], str] | None, resample: Resample,
                  max_pixels: int | None) -> _Blocks:
    """Every frame its own image block, ``marker(t)`` before each."""
    spec = lm.vision
    times = [float(x) for x in frames.times]
    tz = tensorize_images(frames.data, spec, resample=resample, max_pixels=max_pixels)
    k = int(tz.grid_thw[0, 1] * tz.grid_thw[0, 2]) // spec.merge_size**2
    text = "".join(f"{marker(t) if marker else ''}<|vision_start|>{'<|image_pad|>' * k}<|vision_end|>" for t in times)
    hw = (int(tz.grid_thw[0, 1]) // spec.merge_size, int(tz.grid_thw[0, 2]) // spec.merge_size)
    segs = [VisualSegment(IMAGE, (1, *hw), (0,), (t,)) for t in times]
    return text, {"pixel_values": tz.pixel_values, "image_grid_thw": tz.grid_thw}, segs, []


@dataclass
class _VideoGrid:
    """A video tensorized once: its grid, tokens per temporal patch and the patches' start times."""

    pixel_values: torch.Tensor
    grid_thw: torch.Tensor
    patches: int
    hw: tuple[int, int]  # merged (h, w)
    tokens: int  # LM tokens of one temporal patch
    starts: list[float]
    second_per_grid_t: float


def _video_grid(lm: LoadedModel, frames: Frames, resample: Resample, max_pixels: int | None) -> _VideoGrid:
    spec = lm.vision
    tp = spec.temporal_patch_size
    tz = tensorize_video(frames.data, spec, resample=resample, max_pixels=max_pixels)
    g, gh, gw = (int(x) for x in tz.grid_thw[0])
    starts = group_start_times(_pad_times([float(x) for x in frames.times], tp), tp)
    spgt = statistics.median(np.diff(starts)) if len(starts) > 1 else float(tp)
    return _VideoGrid(tz.pixel_values, tz.grid_thw, g,
                      (gh // spec.merge_size, gw // spec.merge_size), gh * gw // spec.merge_size**2, starts,
                      float(spgt))


def _video_block(lm: LoadedModel, frames: Frames, resample: Resample, max_pixels: int | None,
                 time_origin: float | None) -> _Blocks:
    """The video as one block with the family's M-RoPE temporal ids from the patches' start times."""
    fam, v = lm.family, _video_grid(lm, frames, resample, max_pixels)
    warnings: list[str] = []
    offsets = video_temporal_offsets(v.starts, time_aware=fam.time_aware_mrope,
                                     tokens_per_second=lm.tokens_per_second, origin=time_origin)
    hits = temporal_collisions(offsets, v.starts) if fam.time_aware_mrope else []
    if hits:
        warnings.append(
            f"{len(hits)} pairs of frame groups share a temporal position: M-RoPE resolves "
            f"1/{lm.tokens_per_second:g} s and groups are {v.second_per_grid_t:.3g} s apart; sample at most "
            f"{lm.tokens_per_second * lm.vision.temporal_patch_size:g} fps for this model")
    text = f"<|vision_start|>{'<|video_pad|>' * (v.patches * v.tokens)}<|vision_end|>"
    segs = [VisualSegment(VIDEO, (v.patches, *v.hw), tuple(offsets), tuple(v.starts))]
    tensors: dict[str, Any] = {"pixel_values_videos": v.pixel_values, "video_grid_thw": v.grid_thw}
    if fam.takes_second_per_grid_ts:
        tensors["second_per_grid_ts"] = [v.second_per_grid_t]
    return text, tensors, segs, warnings


def _patch_blocks(lm: LoadedModel, frames: Frames, marker: Callable[[float], str] | None, resample: Resample,
                  max_pixels: int | None) -> _Blocks:
    """One block per temporal patch, ``marker(t)`` of the patch's mean time before each."""
    fam, v = lm.family, _video_grid(lm, frames, resample, max_pixels)
    marks = group_marker_times(frames.times, lm.vision.temporal_patch_size)
    text = "".join(f"{marker(t) if marker else ''}<|vision_start|>{'<|video_pad|>' * v.tokens}<|vision_end|>"
                   for t in marks)
    segs = [VisualSegment(VIDEO, (1, *v.hw), (0,), (t,)) for t in marks]
    tensors: dict[str, Any] = {"pixel_values_videos": v.pixel_values}
    if fam.native_text_timestamps:
        tensors["video_grid_thw"] = v.grid_thw  # the model splits it per patch itself
    else:
        one = v.grid_thw[0].clone()
        one[0] = 1
        tensors["video_grid_thw"] = one.repeat(v.patches, 1)
        if fam.takes_second_per_grid_ts:
            tensors["second_per_grid_ts"] = [v.second_per_grid_t] * v.patches
    return text, tensors, segs, []


def build_example(lm: LoadedModel, prompt: str | Sequence[dict[str, Any]], frames: Frames,
                  timestamps: str = "mrope", *, answer: str | None = None, system: str | None = None,
                  max_frames: int | None = None, resample: Resample = "torch",
                  max_pixels: int | None = None, time_origin: float | None = None,
                  masked_spans: Sequence[tuple[float, float]] | None = None) -> Example:
    """Tokenise one (prompt, frames) pair for ``lm`` under the timestamp strategy named ``timestamps``.

    ``prompt`` is a string (one user turn: the video, then the text) or chat messages with exactly one
    ``{"type": "video"}`` part. With ``answer``, the assistant turn is appended and ``labels`` mark it.
    ``max_frames`` caps the frames by spreading them over the whole range (never truncating).
    ``time_origin`` (``mrope`` on Qwen2.5-VL): the time that gets temporal offset 0; default the first
    frame's time, as the stock model does; ``0.0`` makes the offsets absolute video time for a clip.
    ``resample`` / ``max_pixels``: see :func:`tempoforge.models.tensorize.tensorize_video`.
    ``masked_spans``: frames at times ``s <= t < e`` of any span become black and, under ``overlay``, get
    no timestamp (TEMPURA's masked event prediction, METHODS.md 2.2); they keep their time positions.
    """
    strategy = get_strategy(timestamps)
    if len(frames) == 0:
        raise UserError("no frames to build model inputs from")
    frames = cap_frames(frames, max_frames)
    warnings = list(frames.warnings)
    tok = lm.tokenizer
    rendered = tok.apply_chat_template(to_messages(prompt, system), tokenize=False, add_generation_prompt=True)
    if rendered.count(VIDEO_PLACEHOLDER) != 1:
        raise UserError(f"the prompt must contain exactly one video, found {rendered.count(VIDEO_PLACEHOLDER)} "
                        "(use a {'type': 'video'} content part)")
    masked = None
    if masked_spans:
        masked, frames = mask_frames(frames, masked_spans)
    vision_text, tensors, segments, more = _vision_blocks(lm, frames, strategy, resample, max_pixels, time_origin,
                                                          masked)
    warnings += more
    for w in more:
        log.warning(w)
    prompt_ids = tok(rendered.replace(VIDEO_PLACEHOLDER, vision_text), add_special_tokens=False)["input_ids"]
    answer_ids = tok(answer + "<|im_end|>\n", add_special_tokens=False)["input_ids"] if answer is not None else []
    ids = torch.tensor(prompt_ids + answer_ids, dtype=torch.long)
    ti = lm.token_ids
    types = torch.zeros_like(ids)
    types[ids == ti["image"]] = IMAGE
    types[ids == ti["video"]] = VIDEO
    expected = sum(seg.num_tokens for seg in segments)
    if int((types != 0).sum()) != expected:
        raise UserError("the prompt or answer text contains Qwen vision tokens (<|image_pad|> / <|video_pad|>); "
                        "remove them from the text")
    labels = None
    if answer is not None:
        labels = ids.clone()
        labels[: len(prompt_ids)] = IGNORE_INDEX
    return Example(
        input_ids=ids, mm_token_type_ids=types, position_ids=mrope_position_ids(types, segments), labels=labels,
        prompt_length=len(prompt_ids), pixel_values_videos=tensors.get("pixel_values_videos"),
        video_grid_thw=tensors.get("video_grid_thw"), second_per_grid_ts=tensors.get("second_per_grid_ts"),
        pixel_values=tensors.get("pixel_values"), image_grid_thw=tensors.get("image_grid_thw"),
        frame_times=[float(t) for t in frames.times], strategy=strategy.name, segments=segments, warnings=warnings,
    )


def mask_frames(frames: Frames, spans: Sequence[tuple[float, float]]) -> tuple[np.ndarray, Frames]:
    """``(flags, frames)``: which frames lie in a span (``s <= t < e``), and a copy with those frames black."""
    t = frames.times
    flags = np.zeros(len(frames), dtype=bool)
    for s, e in spans:
        flags |= (t >= s) & (t < e)
    data = frames.data.copy()
    data[flags] = 0
    return flags, Frames(data, frames.times.copy(), frames.info,
                         None if frames.requested is None else frames.requested.copy(), list(frames.warnings))


def _pad(seqs: list[torch.Tensor], value: int, side: str) -> torch.Tensor:
    n = max(s.shape[-1] for s in seqs)
    out = []
    for s in seqs:
        pad = torch.full((*s.shape[:-1], n - s.shape[-1]), value, dtype=s.dtype)
        out.append(torch.cat([pad, s], -1) if side == "left" else torch.cat([s, pad], -1))
    return torch.stack(out, dim=-2 if seqs[0].ndim > 1 else 0)


def collate(examples: Sequence[Example], *, pad_token_id: int,
            padding_side: Literal["left", "right"] = "left") -> dict[str, torch.Tensor]:
    """Pad and stack examples into the keyword arguments of ``model(**batch)`` / ``model.generate``.

    Left padding for generation, right padding for training. ``position_ids`` is ``(3, B, L)`` (padding
    positions 0, masked out). Vision tensors are concatenated in example order.
    """
    if not examples:
        raise ValueError("collate needs at least one example")
    batch: dict[str, torch.Tensor] = {
        "input_ids": _pad([e.input_ids for e in examples], pad_token_id, padding_side),
        "attention_mask": _pad([torch.ones_like(e.input_ids) for e in examples], 0, padding_side),
        "mm_token_type_ids": _pad([e.mm_token_type_ids for e in examples], 0, padding_side),
        "position_ids": _pad([e.position_ids for e in examples], 0, padding_side),
    }
    if all(e.labels is not None for e in examples):
        batch["labels"] = _pad([e.labels for e in examples if e.labels is not None], IGNORE_INDEX, padding_side)
    for key in ("pixel_values_videos", "video_grid_thw", "pixel_values", "image_grid_thw"):
        parts = [getattr(e, key) for e in examples if getattr(e, key) is not None]
        if parts:
            batch[key] = torch.cat(parts)
    spgt = [x for e in examples for x in (e.second_per_grid_ts or [])]
    if spgt:
        batch["second_per_grid_ts"] = torch.tensor(spgt, dtype=torch.float32)
    return batch


def build_batch(lm: LoadedModel, items: Sequence[tuple[str | Sequence[dict[str, Any]], Frames]],
                timestamps: str = "mrope", *, answers: Sequence[str] | None = None,
                padding_side: Literal["left", "right"] = "left", **kwargs: Any) -> dict[str, torch.Tensor]:
    """``build_example`` for each ``(prompt, frames)`` then ``collate`` (kwargs go to ``build_example``)."""
    if answers is not None and len(answers) != len(items):
        raise ValueError(f"{len(answers)} answers for {len(items)} items")
    exs = [build_example(lm, p, f, timestamps, answer=None if answers is None else answers[i], **kwargs)
           for i, (p, f) in enumerate(items)]
    return collate(exs, pad_token_id=lm.token_ids["pad"], padding_side=padding_side)
