"""Several continuations of one shared (video + prompt) prefix, scored from one encoding of the prefix.

The per-token math (``token_logps``, ``sequence_logps``, ``truncate_to_prompt``) is ``models/logps.py``.

Preference and RL objectives compare responses to the *same* prompt and video. Encoding that prefix once
and continuing it several times from its KV cache gives the same log-probabilities and gradients as one
full forward per response (``tests/train/test_train_logps.py`` checks both), while the vision tower and the
long run of video tokens are computed once instead of once per response::

    prefix  [system, user: <video tokens ...> question, "assistant\\n"]   one forward, use_cache=True
              |-- KV cache repeated per continuation -->
    conts   [chosen answer <|im_end|>]  [rejected answer <|im_end|>] ...  one batched forward

The logit that predicts a continuation's first token is the prefix's last logit; the rest come from the
continuation forward. Position ids of the continuations are the ones ``build_example`` computed for the
full sequence (M-RoPE positions continue after the video exactly as in a single pass).

Under gradient checkpointing (a training forward with grad while any layer has ``gradient_checkpointing``
on) transformers runs the decoder layers without a KV cache, so there is no prefix cache to continue.
Then every continuation is scored in one forward of its full sequence (prefix repeated; left-padded so
that ``logits_to_keep`` keeps only the continuation's logits, never the ``L x vocab`` of the prefix): the
same log-probs and gradients (tested), at the cost of running the prefix once per continuation, which
the checkpointing keeps cheap in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from tempoforge.models.inputs import Example, collate
from tempoforge.models.kv_cache import cache_kwargs, output_cache
from tempoforge.models.logps import token_logps, truncate_to_prompt

__all__ = ["ContinuationLogps", "checkpointing_active", "shared_prefix_logps"]

_PREFIX_KEYS = ("input_ids", "attention_mask", "mm_token_type_ids", "position_ids")


@dataclass
class ContinuationLogps:
    """Per-continuation results of ``shared_prefix_logps`` (row ``i * n + j`` = prefix i, continuation j)."""

    sum_logps: torch.Tensor  # (R,)
    token_logps: torch.Tensor  # (R, Lc) zero outside the mask
    mask: torch.Tensor  # (R, Lc) bool
    hidden: torch.Tensor | None = None  # (R, Lc, H) last hidden states of the continuation tokens


def shared_prefix_logps(model: Any, examples: Sequence[Sequence[Example]], *, pad_token_id: int,
                        output_hidden: bool = False, temperature: float = 1.0) -> ContinuationLogps:
    """Log-probs of several continuations per prefix, encoding each prefix (video + prompt) once.

    ``examples[i]`` are examples built by ``build_example`` for the same prompt and frames with different
    answers; they must agree on their first ``prompt_length`` tokens. Every prefix must have the same
    number ``n`` of continuations. Prefixes are left-padded so they end together; continuations are
    right-padded. ``temperature``: log-probs of ``softmax(logits / temperature)``, the distribution a
    sampler at that temperature draws from (GRPO's importance ratios need it).
    """
    n = len(examples[0])
    if any(len(group) != n for group in examples):
        raise ValueError("every prefix needs the same number of continuations")
    heads = []
    for group in examples:
        p = group[0].prompt_length
        for other in group[1:]:
            if other.prompt_length != p or not torch.equal(other.input_ids[:p], group[0].input_ids[:p]):
                raise ValueError("continuations of one prefix must share its prompt tokens")
        heads.append(group[0])
    if checkpointing_active(model):
        return _full_sequence_logps(model, [e for group in examples for e in group], pad_token_id=pad_token_id,
                                    output_hidden=output_hidden, temperature=temperature)
    prefix = collate([truncate_to_prompt(e) for e in heads], pad_token_id=pad_token_id, padding_side="left")
    prefix.pop("labels", None)
    device = next(model.parameters()).device
    prefix = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in prefix.items()}
    # only the last prefix logit is used; an index tensor (not ``1``) makes transformers gather a contiguous
    # copy: the strided slice ``[:, -1:]`` sends torch's matmul down a path that copies the whole LM head per
    # sequence (13 s and 2 GB per call for a 7B vocabulary head on CPU)
    out = model(**prefix, use_cache=True, logits_to_keep=_last(prefix["input_ids"].shape[1], 1, device))
    cache = output_cache(out)
    last = out.logits[:, -1:]  # predicts each continuation's first token
    conts = [e for group in examples for e in group]
    lc = max(len(e.input_ids) - e.prompt_length for e in conts)
    rows = len(conts)
    ids = torch.full((rows, lc), pad_token_id, dtype=torch.long)
    pos = torch.zeros((3, rows, lc), dtype=torch.long)
    mask = torch.zeros((rows, lc), dtype=torch.bool)
    for r, e in enumerate(conts):
        k = len(e.input_ids) - e.prompt_length
        ids[r, :k] = e.input_ids[e.prompt_length:]
        pos[:, r, :k] = e.position_ids[:, e.prompt_length:]
        mask[r, :k] = True
    attn = torch.cat([prefix["attention_mask"].cpu().repeat_interleave(n, 0), mask.long()], dim=1)
    cache.batch_repeat_interleave(n)
    ids, pos, mask, attn = ids.to(device), pos.to(device), mask.to(device), attn.to(device)
    out2 = model(input_ids=ids, attention_mask=attn, position_ids=pos, **cache_kwargs(model, cache),
                 mm_token_type_ids=torch.zeros_like(ids), use_cache=True, output_hidden_states=output_hidden)
    logits = torch.cat([last.repeat_interleave(n, 0), out2.logits[:, :-1]], dim=1)
    if temperature != 1.0:
        logits = logits / temperature
    lp = token_logps(logits, ids) * mask
    hidden = out2.hidden_states[-1] if output_hidden else None
    return ContinuationLogps(sum_logps=lp.sum(-1), token_logps=lp, mask=mask, hidden=hidden)


def checkpointing_active(model: Any) -> bool:
    """Whether a forward now runs checkpointed layers (grad enabled, a training module with checkpointing on),
    which transformers runs without a KV cache."""
    if not torch.is_grad_enabled():
        return False
    return any(getattr(m, "gradient_checkpointing", False) and m.training for m in model.modules())


def _last(length: int, n: int, device: Any) -> torch.Tensor:
    """``logits_to_keep`` for the last ``n`` of ``length`` positions, as indices (see the prefix forward)."""
    return torch.arange(length - n, length, device=device)


def _full_sequence_logps(model: Any, conts: Sequence[Example], *, pad_token_id: int, output_hidden: bool,
                         temperature: float) -> ContinuationLogps:
    """``shared_prefix_logps``'s result from one forward of every full sequence (no KV cache; see module doc).

    Sequences are left-padded so all end together; the last ``lc + 1`` logits cover every continuation
    (``lc`` the longest), and each row's values are moved to the left of its ``(lc,)`` row, the layout of the
    cached path.
    """
    lc = max(len(e.input_ids) - e.prompt_length for e in conts)
    batch = collate(list(conts), pad_token_id=pad_token_id, padding_side="left")
    batch.pop("labels", None)
    device = next(model.parameters()).device
    batch = {k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}
    out = model(**batch, use_cache=False, logits_to_keep=_last(batch["input_ids"].shape[1], lc + 1, device),
                output_hidden_states=output_hidden)
    logits = out.logits[:, :-1]  # position j predicts the j-th of the last lc tokens
    if temperature != 1.0:
        logits = logits / temperature
    window_ids = batch["input_ids"][:, -lc:]
    window_lp = token_logps(logits, window_ids)
    rows = len(conts)
    lp = torch.zeros((rows, lc), dtype=window_lp.dtype, device=device)
    mask = torch.zeros((rows, lc), dtype=torch.bool, device=device)
    hidden = None
    if output_hidden:
        last = out.hidden_states[-1][:, -lc:]
        hidden = torch.zeros((rows, lc, last.shape[-1]), dtype=last.dtype, device=device)
    for r, e in enumerate(conts):
        k = len(e.input_ids) - e.prompt_length
        lp[r, :k] = window_lp[r, lc - k:]
        mask[r, :k] = True
        if hidden is not None:
            hidden[r, :k] = last[r, lc - k:]
    return ContinuationLogps(sum_logps=lp.sum(-1), token_logps=lp, mask=mask, hidden=hidden)
