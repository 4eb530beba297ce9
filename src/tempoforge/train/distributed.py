"""Running the trainers on several processes (``accelerate launch``): rank helpers and the vision keep-alive.

Every trainer is a ``transformers.Trainer``, so DDP, DeepSpeed ZeRO and FSDP come from ``accelerate launch
--config_file configs/accelerate/<kind>.yaml -m tempoforge.cli train ...`` unchanged. Two things are ours:

**Ranks that disagree about video (the known ZeRO-3 hang).** A Qwen-VL forward runs the vision tower only
when the batch carries pixels. Under ZeRO-3 each module's forward all-gathers that module's parameter shards,
so when rank 0's batch has a video and rank 1's has none, rank 0 waits in the vision tower's all-gather
that rank 1 never joins: the job hangs. Under DDP with ``find_unused_parameters=False`` (transformers'
choice whenever gradient checkpointing is on) the same batch leaves the vision parameters without a
gradient on one rank: DDP raises "Expected to have finished reduction in the prior iteration" on that rank
while the other waits in the all-reduce. :class:`VisionKeepAlive` makes every training forward that starts
a sequence run the vision tower exactly once: a batch without pixels runs it on a dummy one-patch input
(grid ``1 x m x m``, ``m`` the spatial merge size, zeros), whose outputs enter the input embeddings
multiplied by 0. Every rank then executes the same modules in the same order (embeddings -> vision tower ->
language model, exactly as a real video batch does), the loss and the logits are bit-identical, and the
vision parameters receive an exact zero gradient.

Deviation from the stock single-process behaviour, stated: on a text-only batch the vision parameters get
a zero gradient instead of none, so AdamW still applies weight decay and momentum to them on that step
(what DDP / ZeRO do anyway, since they all-reduce a zero gradient for every parameter). The keep-alive is
installed in single-process runs too, so one process and N processes follow the same update rule.

**Checkpoints between stages.** Every recipe merges its LoRA and writes a full checkpoint after each
stage (``train/checkpoint.py``): rank 0 writes, the others wait at a barrier. Under FSDP2 / ZeRO-3 the
weights are sharded, so :func:`gathered_for_update` (ZeRO-3) and :func:`full_state_dict` (FSDP2 DTensors:
``full_tensor``) gather them on every rank first. The FSDP2 path is tested on CPU with 2 processes
(``fully_shard`` over gloo); the ZeRO-3 path (DeepSpeed's ``GatheredParameters``) cannot run here (no
DeepSpeed without CUDA) and refuses to write a checkpoint from empty partitions instead of writing it hollow.

Forwards that continue from a KV cache (``cache`` or its old name ``past_key_values`` given, see
``models/kv_cache.py``: the continuation half of
``train/logps.py``'s shared-prefix scoring, generation steps), forwards without gradients (reference
log-probs, generation) and eval-mode forwards are left alone: they do not build a backward graph, and
every rank makes them in the same order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from tempoforge.models.inputs import IGNORE_INDEX, Example
from tempoforge.models.kv_cache import given_cache
from tempoforge.models.positions import mrope_position_ids

__all__ = ["VisionKeepAlive", "barrier", "full_state_dict", "gathered_for_update", "is_main_process", "is_sharded",
           "keep_vision_in_graph", "rank", "text_example", "world_size"]

_PIXEL_KEYS = ("pixel_values", "pixel_values_videos")


def world_size() -> int:
    """Number of processes in the job (``torch.distributed`` when initialised, else ``WORLD_SIZE``, else 1)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return int(torch.distributed.get_world_size())
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's global rank (0 when not distributed)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return int(torch.distributed.get_rank())
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """True on global rank 0 (and in a single-process run): the process that writes shared files."""
    return rank() == 0


def barrier() -> None:
    """Wait for every rank (no-op when ``torch.distributed`` is not initialised)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()


def _is_zero3(p: torch.Tensor) -> bool:
    return hasattr(p, "ds_id")  # a DeepSpeed ZeRO-3 partitioned parameter


def _is_dtensor(p: torch.Tensor) -> bool:
    from torch.distributed.tensor import DTensor

    return isinstance(p, DTensor)  # an FSDP2 shard


def is_sharded(model: Any) -> bool:
    """True when ``model``'s weights are split across ranks (FSDP2 DTensors or ZeRO-3 partitions)."""
    return any(_is_zero3(p) or _is_dtensor(p) for p in model.parameters())


@contextmanager
def gathered_for_update(model: Any) -> Iterator[None]:
    """ZeRO-3: every rank holds the full weights inside the block and rank 0's edits (a LoRA merge) are
    re-partitioned on exit (``deepspeed.zero.GatheredParameters``, modifier rank 0). A no-op otherwise —
    FSDP2 DTensors are merged shard-wise by PEFT's own tensor operations. Collective: call on every rank."""
    params = [p for p in model.parameters() if _is_zero3(p)]
    if not params:
        yield
        return
    import deepspeed  # present whenever parameters are ZeRO-3 partitions

    with deepspeed.zero.GatheredParameters(params, modifier_rank=0):
        yield


def full_state_dict(model: Any) -> dict[str, torch.Tensor]:
    """The full, unsharded weights of ``model`` as CPU tensors, on every rank.

    FSDP2: each DTensor is all-gathered (``full_tensor``); ZeRO-3: read inside :func:`gathered_for_update`;
    plain models: their own tensors. Collective under sharding: call on every rank. Raises when a tensor is
    still empty (a ZeRO-3 partition read outside the gather), so a checkpoint is never written hollow.
    """
    hollow = [n for n, p in model.named_parameters() if _is_zero3(p) and p.numel() == 0 and p.ds_numel > 0]
    if hollow:
        raise RuntimeError(f"{hollow[0]} (and {len(hollow) - 1} more): ZeRO-3 partitions read outside "
                           "gathered_for_update; the checkpoint would be empty")
    return {key: (value.full_tensor() if _is_dtensor(value) else value).detach().to("cpu")
            for key, value in model.state_dict().items()}


def _vl_model(model: Any) -> torch.nn.Module:
    """The module that owns the vision tower as a direct child ``visual`` (``Qwen*VLModel``), through
    PEFT / DDP / Trainer wrappers."""
    for module in model.modules():
        if "visual" in dict(module.named_children()) and hasattr(module, "get_video_features"):
            return module
    raise ValueError("no Qwen-VL model with a 'visual' tower found (expected a Qwen2/2.5/3-VL model)")


def _dummy_patch_dim(visual: torch.nn.Module) -> tuple[int, int]:
    """``(spatial merge size m, flattened patch length C * T * P * P)`` of the vision tower's input rows,
    from its patch embedding (else its config)."""
    sources = (getattr(visual, "patch_embed", None), getattr(visual, "config", None), visual)

    def attr(name: str) -> int:
        for src in sources:
            value = getattr(src, name, None)
            if value is not None:
                return int(value[0] if isinstance(value, (list, tuple)) else value)
        raise ValueError(f"the vision tower has no {name!r} (expected a Qwen2/2.5/3-VL vision model)")

    patch = attr("patch_size")
    return attr("spatial_merge_size"), attr("in_channels") * attr("temporal_patch_size") * patch * patch


def _float_tensors(x: Any) -> Iterator[torch.Tensor]:
    """Every floating-point tensor inside a (nested) model output."""
    if isinstance(x, torch.Tensor):
        if x.is_floating_point():
            yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _float_tensors(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _float_tensors(v)
    elif hasattr(x, "to_tuple"):  # transformers ModelOutput
        yield from _float_tensors(x.to_tuple())


class VisionKeepAlive:
    """Forward pre-hook that runs the vision tower on a dummy input when a training batch has no pixels.

    Use it around training (the trainers in ``tempoforge.train`` install it themselves)::

        with VisionKeepAlive(model) as keep:
            trainer.train()
        keep.dummy_calls  # how many forwards had no video and ran the dummy

    ``dummy_calls`` counts the forwards that ran the dummy (0 on data where every example has a video).
    """

    def __init__(self, model: Any) -> None:
        self.module = _vl_model(model)
        visual = self.module.visual
        if not isinstance(visual, torch.nn.Module):
            raise ValueError("the model's 'visual' attribute is not a module")
        self.merge, self.patch_dim = _dummy_patch_dim(visual)
        self.dummy_calls = 0
        self._pending = False
        embed = self.module.get_input_embeddings()  # type: ignore[operator]
        self._handles: list[Any] = [
            self.module.register_forward_pre_hook(self._pre_hook, with_kwargs=True),
            embed.register_forward_hook(self._embed_hook),
        ]

    def _needs_dummy(self, module: torch.nn.Module, kwargs: dict[str, Any]) -> bool:
        if not (module.training and torch.is_grad_enabled()):
            return False
        if any(kwargs.get(k) is not None for k in _PIXEL_KEYS) or kwargs.get("mm_encoder_outputs"):
            return False
        cache = given_cache(kwargs)
        return cache is None or (hasattr(cache, "get_seq_length") and int(cache.get_seq_length()) == 0)

    def _pre_hook(self, module: torch.nn.Module, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        self._pending = False
        if not self._needs_dummy(module, kwargs):
            return None
        embeds = kwargs.get("inputs_embeds")
        if embeds is None:  # the usual path: the embedding hook adds the dummy right after the lookup
            self._pending = True
            return None
        kwargs["inputs_embeds"] = embeds + self._dummy_zero(embeds)
        return args, kwargs

    def _embed_hook(self, module: torch.nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> Any:
        if not self._pending:
            return None
        self._pending = False
        return output + self._dummy_zero(output)

    def _dummy_zero(self, like: torch.Tensor) -> torch.Tensor:
        """``0 *`` the sum of the vision tower's outputs on a dummy one-patch video (a graph-connected zero)."""
        m = self.merge
        grid = torch.tensor([[1, m, m]], dtype=torch.long, device=like.device)
        pixels = torch.zeros(m * m, self.patch_dim, dtype=torch.float32, device=like.device)
        out = self.module.get_video_features(pixels, grid, return_dict=True)  # type: ignore[operator]
        total = torch.zeros((), dtype=torch.float32, device=like.device)
        for t in _float_tensors(out):
            total = total + t.float().sum()
        self.dummy_calls += 1
        return (total * 0.0).to(like.dtype)

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> VisionKeepAlive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def keep_vision_in_graph(model: Any) -> VisionKeepAlive:
    """Install a :class:`VisionKeepAlive` on ``model`` (call ``.remove()`` or use it as a context manager)."""
    return VisionKeepAlive(model)


def text_example(lm: Any, prompt: str, answer: str | None = None, system: str | None = None) -> Example:
    """A text-only training example (no video): chat-templated prompt, labels on the answer only.

    For mixing text instruction data into video fine-tuning — the data that makes ranks disagree about
    video. Positions are the text rule of M-RoPE (all three rows ``0..L-1``), as ``build_example`` gives
    text tokens.
    """
    tok = lm.tokenizer
    messages: list[dict[str, Any]] = [] if system is None else [{"role": "system", "content": system}]
    messages.append({"role": "user", "content": [{"type": "text", "text": prompt}]})
    rendered = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    prompt_ids = tok(rendered, add_special_tokens=False)["input_ids"]
    answer_ids = tok(answer + "<|im_end|>\n", add_special_tokens=False)["input_ids"] if answer is not None else []
    ids = torch.tensor(prompt_ids + answer_ids, dtype=torch.long)
    vision = {lm.token_ids["image"], lm.token_ids["video"]}
    if any(int(i) in vision for i in ids):
        raise ValueError("text_example: the text contains Qwen vision tokens (<|image_pad|> / <|video_pad|>)")
    types = torch.zeros_like(ids)
    labels = None
    if answer is not None:
        labels = ids.clone()
        labels[: len(prompt_ids)] = IGNORE_INDEX
    return Example(input_ids=ids, mm_token_type_ids=types, position_ids=mrope_position_ids(types, []),
                   labels=labels, prompt_length=len(prompt_ids), strategy="text-only")
