"""Loading checkpoints: families, errors, PEFT adapters, save/load round trip of the tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tempoforge.errors import UserError
from tempoforge.models.families import get_family
from tempoforge.models.inputs import build_batch
from tempoforge.models.load import load
from tempoforge.models.tiny import build_tiny
from tempoforge.records import Frames


def test_unsupported_model_type_lists_the_supported(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llava"}))
    with pytest.raises(UserError, match="unsupported model_type 'llava'; tempoforge supports qwen2_5_vl, qwen2_vl, qwen3_vl"):
        load(tmp_path)
    with pytest.raises(UserError, match="model directory not found"):
        load(tmp_path / "nope")
    with pytest.raises(UserError, match=r"no config\.json"):
        load(tmp_path.parent)


def test_family_table() -> None:
    assert get_family("qwen2_5_vl").time_aware_mrope
    assert not get_family("qwen2_vl").takes_second_per_grid_ts
    assert get_family("qwen3_vl").native_text_timestamps and get_family("qwen3_vl").patch_size == 16


def test_saved_tiny_reloads_identically(tiny_dirs: dict, tiny_models: dict) -> None:
    for name, path in tiny_dirs.items():
        lm = tiny_models[name]
        fresh = build_tiny(name, seed=0)  # same seed -> same weights as the saved one
        assert lm.family.model_type == name and lm.tokenizer.chat_template
        assert lm.vision == fresh.vision
        frames = Frames(np.random.default_rng(0).integers(0, 256, (4, 56, 56, 3), dtype=np.uint8), [0, 1, 2, 3])
        batch = build_batch(lm, [("q", frames)])
        with torch.no_grad():
            a = lm.model(**batch).logits
            b = fresh.model(**batch).logits
        assert torch.allclose(a, b, atol=1e-6), name
        assert (path / "video_preprocessor_config.json").is_file()


def test_peft_adapter_loads(tiny_dirs: dict, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model

    base = load(tiny_dirs["qwen2_vl"])
    peft_model = get_peft_model(base.model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    peft_model.save_pretrained(tmp_path / "adapter")
    lm = load(tiny_dirs["qwen2_vl"], adapter=tmp_path / "adapter")
    assert lm.adapter == tmp_path / "adapter" and lm.name.endswith("+" + str(tmp_path / "adapter"))
    frames = Frames(np.zeros((2, 56, 56, 3), np.uint8), [0.0, 1.0])
    batch = build_batch(lm, [("q", frames)])
    plain = load(tiny_dirs["qwen2_vl"])
    with torch.no_grad():
        assert not torch.allclose(lm.model(**batch).logits, plain.model(**batch).logits)
    gen = lm.model.generate(**batch, max_new_tokens=2, do_sample=False)
    assert gen.shape[1] > batch["input_ids"].shape[1]
    with pytest.raises(UserError, match="not a PEFT adapter"):
        load(tiny_dirs["qwen2_vl"], adapter=tmp_path)
