"""Shared-prefix scoring under gradient checkpointing (the real presets turn it on for DPO and GRPO).

transformers runs checkpointed layers without a KV cache, so the cached path of ``shared_prefix_logps``
had no prefix cache to continue (``AttributeError: 'NoneType' ... batch_repeat_interleave`` on the first
step of ``temple_qwen25vl_7b.yaml``). Under checkpointing it now scores full sequences; the values,
token layout, hidden states and gradients must equal the cached path's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tempoforge.models.inputs import build_example
from tempoforge.models.tiny import build_tiny
from tempoforge.records import Frames
from tempoforge.train.logps import checkpointing_active, shared_prefix_logps

PROMPT = "When is the red square visible?"


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_checkpointed_scoring_equals_cached_scoring(family: str) -> None:
    lm = build_tiny(family, seed=3)
    model = lm.model.train()
    rng = np.random.default_rng(0)
    frames = [Frames(rng.integers(0, 255, (8, 56, 56, 3), dtype=np.uint8), np.arange(8.0)) for _ in range(2)]
    # answers of different lengths, so the left-aligned rows of the window differ per row
    groups = [[build_example(lm, PROMPT, f, "mrope", answer=a) for a in ("from 1.0 to 3.0", "later, from 5.0 to 7.5 s")]
              for f in frames]
    pad = lm.token_ids["pad"]

    assert not checkpointing_active(model)
    cached = shared_prefix_logps(model, groups, pad_token_id=pad, output_hidden=True, temperature=0.7)
    cached.sum_logps.sum().backward()
    g_cached = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()

    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    assert checkpointing_active(model)
    with torch.no_grad():  # no backward to replay: checkpointing is not in effect
        assert not checkpointing_active(model)
    full = shared_prefix_logps(model, groups, pad_token_id=pad, output_hidden=True, temperature=0.7)
    full.sum_logps.sum().backward()

    assert torch.equal(full.mask, cached.mask)
    torch.testing.assert_close(full.token_logps, cached.token_logps, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(full.sum_logps, cached.sum_logps, rtol=1e-5, atol=1e-4)
    assert full.hidden is not None and cached.hidden is not None
    m = cached.mask.unsqueeze(-1)
    torch.testing.assert_close(full.hidden * m, cached.hidden * m, rtol=1e-4, atol=1e-4)
    for name, grad in g_cached.items():
        torch.testing.assert_close(dict(model.named_parameters())[name].grad, grad, rtol=1e-4, atol=1e-5)
