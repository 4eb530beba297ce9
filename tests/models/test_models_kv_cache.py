"""KV-cache continuation works under the installed transformers' argument name, without deprecation warnings."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import torch

from tempoforge.models.inputs import build_example, collate
from tempoforge.models.kv_cache import cache_argument, cache_kwargs, given_cache, output_cache
from tempoforge.models.tiny import build_tiny
from tempoforge.records import Frames
from tempoforge.train.logps import shared_prefix_logps


def test_cache_argument_is_the_forward_parameter(tiny_models: dict) -> None:
    for lm in tiny_models.values():
        params = inspect.signature(type(lm.model).forward).parameters
        name = cache_argument(lm.model)
        assert name in params
        # transformers >= 5.25 names it `cache` and keeps `past_key_values` only as a deprecated alias
        assert name == ("cache" if "cache" in params else "past_key_values")


def test_given_cache_reads_both_names() -> None:
    assert given_cache({}) is None and given_cache({"cache": None}) is None
    assert given_cache({"cache": 1}) == 1 and given_cache({"past_key_values": 2}) == 2


def test_shared_prefix_logps_warns_nothing_and_equals_full_forwards() -> None:
    lm = build_tiny("qwen2_5_vl", seed=0)
    lm.model.eval()
    frames = Frames(np.random.default_rng(0).integers(0, 255, (4, 56, 56, 3), dtype=np.uint8), np.arange(4.0))
    exs = [build_example(lm, "When?", frames, answer=a) for a in ("from 1 to 2", "from 0 to 3 seconds")]
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        with torch.no_grad():
            got = shared_prefix_logps(lm.model, [exs], pad_token_id=lm.token_ids["pad"]).sum_logps
    # the same sums from one full forward per example (no cache at all)
    for i, ex in enumerate(exs):
        batch = collate([ex], pad_token_id=lm.token_ids["pad"], padding_side="right")
        batch.pop("labels", None)
        with torch.no_grad():
            logits = lm.model(**batch).logits[0]
        p = ex.prompt_length
        lp = torch.log_softmax(logits[p - 1:-1].float(), -1).gather(-1, ex.input_ids[p:, None])[:, 0].sum()
        assert torch.allclose(got[i], lp, atol=1e-4), (float(got[i]), float(lp))


def test_output_cache_continues_a_sequence() -> None:
    lm = build_tiny("qwen2_vl", seed=0)
    lm.model.eval()
    ids = torch.tensor([[5, 6, 7, 8]])
    pos = torch.arange(4).expand(3, 1, 4)
    with torch.no_grad():
        full = lm.model(input_ids=ids, position_ids=pos).logits[0, -1]
        head = lm.model(input_ids=ids[:, :3], position_ids=pos[..., :3], use_cache=True)
        tail = lm.model(input_ids=ids[:, 3:], position_ids=pos[..., 3:], use_cache=True,
                        **cache_kwargs(lm.model, output_cache(head))).logits[0, -1]
    assert torch.allclose(full, tail, atol=1e-5)
