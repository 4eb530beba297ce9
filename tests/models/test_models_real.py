"""Real architectures at random init (``models/real.py``) against the published numbers, written down here.

Sources. The architecture of each model is its Hugging Face repository's ``config.json``
(https://huggingface.co/Qwen/<name>/blob/main/config.json), the processor constants its
``preprocessor_config.json`` / ``video_preprocessor_config.json``, the special-token ids its
``tokenizer_config.json`` ``added_tokens_decoder``, and "Model size" the parameter count the repository's
page reports for its safetensors. No hub is reachable here; the values below were read from public copies
and cross-checked against independent re-implementations:

- Qwen2-VL-2B / 7B language models = Qwen2-1.5B / 7B: NVIDIA/NeMo ``nemo/collections/llm/gpt/model/qwen2.py``
  (``Qwen2Config1P5B``: 28 layers, hidden 1536, 12 heads, 2 KV groups, FFN 8960; ``Qwen2Config7B``: 28, 3584,
  28, 4, 18944, vocab 152064); their vision tower: ``nemo/collections/vlm/qwen2vl/model/qwen2vl.py``
  (32 layers, 16 heads, projector 5120 -> 1536 / 3584).
- Qwen2.5-VL-3B: a public copy of its ``config.json`` with a torchinfo summary (vision block 19,702,200
  parameters, decoder layer 77,076,992, merger MLP 36,707,328, patch embedding 1,505,280); Qwen2.5-VL-7B's
  module print (``acproject/duorou`` ``docs/qwen2.5vl_graph.md``: embedding 152064 x 3584, k/v 3584 -> 512,
  MLP 18944, vision MLP 3420, merger 5120 -> 3584).
- Qwen3-VL-2B / 8B: pytorch/torchtitan ``torchtitan/experiments/qwen3_vl/__init__.py`` ("2B": dim 2048,
  28 layers, FFN 6144, 16 heads, 8 KV heads, head_dim 128, tied, rope theta 5e6, vision 1024 x 24 layers,
  FFN 4096, deepstack [5, 11, 17], mrope [24, 20, 20]; "8B": 4096, 36, 12288, 32, 8, vision 1152 x 27,
  FFN 4304, deepstack [8, 16, 24]).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tempoforge.errors import UserError
from tempoforge.models.real import arch_for_model, build_real_tokenizer, get_arch, real_config
from tempoforge.plan.shapes import model_shape

REPO = Path(__file__).resolve().parents[2]

# name: (family, size, text: hidden, intermediate, layers, heads, kv heads, head_dim, vocab, tied, rope theta,
#        mrope_section, max positions; vision: depth, width, heads, MLP, patch, out width; model size "B")
PUBLISHED = {
    "Qwen2-VL-2B-Instruct": ("qwen2_vl", "2b", 1536, 8960, 28, 12, 2, 128, 151936, True, 1e6, [16, 24, 24], 32768,
                             32, 1280, 16, 5120, 14, 1536, "2.21"),
    "Qwen2-VL-7B-Instruct": ("qwen2_vl", "7b", 3584, 18944, 28, 28, 4, 128, 152064, False, 1e6, [16, 24, 24], 32768,
                             32, 1280, 16, 5120, 14, 3584, "8.29"),
    "Qwen2.5-VL-3B-Instruct": ("qwen2_5_vl", "3b", 2048, 11008, 36, 16, 2, 128, 151936, True, 1e6, [16, 24, 24],
                               128000, 32, 1280, 16, 3420, 14, 2048, "3.75"),
    "Qwen2.5-VL-7B-Instruct": ("qwen2_5_vl", "7b", 3584, 18944, 28, 28, 4, 128, 152064, False, 1e6, [16, 24, 24],
                               128000, 32, 1280, 16, 3420, 14, 3584, "8.29"),
    "Qwen3-VL-2B-Instruct": ("qwen3_vl", "2b", 2048, 6144, 28, 16, 8, 128, 151936, True, 5e6, [24, 20, 20], 262144,
                             24, 1024, 16, 4096, 16, 2048, "2.13"),
    "Qwen3-VL-8B-Instruct": ("qwen3_vl", "8b", 4096, 12288, 36, 32, 8, 128, 151936, False, 5e6, [24, 20, 20], 262144,
                             27, 1152, 16, 4304, 16, 4096, "8.77"),
}
# tokenizer_config.json added_tokens_decoder (shared by every family) and config.json token ids
SPECIAL_IDS = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645, "<|vision_start|>": 151652,
               "<|vision_end|>": 151653, "<|vision_pad|>": 151654, "<|image_pad|>": 151655, "<|video_pad|>": 151656}
# tokenizer length = 151643 regular tokens + the added ones: 14 (Qwen2-VL), 22 (Qwen2.5-VL), 26 (Qwen3-VL)
TOKENIZER_LEN = {"qwen2_vl": 151657, "qwen2_5_vl": 151665, "qwen3_vl": 151669}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_architecture_matches_the_published_config(name: str) -> None:
    (family, size, hidden, inter, layers, heads, kv, head_dim, vocab, tied, theta, mrope, max_pos,
     depth, vwidth, vheads, vmlp, patch, out, billions) = PUBLISHED[name]
    arch = get_arch(family, size)
    assert arch.name == name
    cfg = real_config(arch)
    tc, vc = cfg.get_text_config(), cfg.vision_config
    assert (tc.hidden_size, tc.intermediate_size, tc.num_hidden_layers) == (hidden, inter, layers)
    assert (tc.num_attention_heads, tc.num_key_value_heads, tc.vocab_size) == (heads, kv, vocab)
    assert (getattr(tc, "head_dim", None) or tc.hidden_size // tc.num_attention_heads) == head_dim
    assert tc.rope_parameters["mrope_section"] == mrope and sum(mrope) == head_dim // 2
    assert tc.rope_parameters["rope_theta"] == theta and tc.max_position_embeddings == max_pos
    assert bool(cfg.tie_word_embeddings) is tied
    assert (cfg.image_token_id, cfg.video_token_id) == (SPECIAL_IDS["<|image_pad|>"], SPECIAL_IDS["<|video_pad|>"])
    assert (cfg.vision_start_token_id, cfg.vision_end_token_id) == (151652, 151653)
    assert (vc.depth, vc.num_heads, vc.patch_size, vc.spatial_merge_size, vc.temporal_patch_size) == (
        depth, vheads, patch, 2, 2)
    shape = model_shape(cfg)
    assert (shape.vision_hidden, shape.vision_intermediate) == (vwidth, vmlp)
    assert (vc.hidden_size if family == "qwen2_vl" else vc.out_hidden_size) == out
    if family == "qwen2_5_vl":
        assert (vc.fullatt_block_indexes, vc.window_size, vc.tokens_per_second) == ([7, 15, 23, 31], 112, 2)
    if family == "qwen3_vl":
        assert tc.rope_parameters["mrope_interleaved"] is True
        assert vc.deepstack_visual_indexes == ([5, 11, 17] if size == "2b" else [8, 16, 24])
    # the parameter count the model page reports ("Model size"), to its two decimals
    assert f"{shape.params / 1e9:.2f}" == billions
    assert (shape.lm_head_params == 0) is tied


def test_qwen25_vl_3b_module_sizes_match_its_torchinfo_summary() -> None:
    shape = model_shape(real_config(get_arch("qwen2_5_vl", "3b")))
    assert shape.vision_block_params == 19_702_200
    assert shape.layer_params == 77_076_992
    # vision = patch embedding + 32 blocks + merger (RMSNorm 1280 + MLP 5120 -> 5120 -> 2048)
    assert shape.vision_params == 1_505_280 + 32 * 19_702_200 + 1_280 + 36_707_328


@pytest.mark.parametrize("family,size", [("qwen2_vl", "7b"), ("qwen2_5_vl", "3b"), ("qwen3_vl", "8b")])
def test_tokenizer_has_the_published_special_ids(family: str, size: str) -> None:
    arch = get_arch(family, size)
    tok = build_real_tokenizer(arch)
    assert len(tok) == TOKENIZER_LEN[family]
    for token, i in SPECIAL_IDS.items():
        assert tok.convert_tokens_to_ids(token) == i
    assert (tok.eos_token_id, tok.pad_token_id) == (151645, 151643)
    ids = tok("<|im_start|>user\nWhen does the door open?<|im_end|>", add_special_tokens=False)["input_ids"]
    assert ids[0] == 151644 and ids[-1] == 151645 and max(ids[1:-1]) < 151643  # text maps to regular tokens
    if family == "qwen3_vl":
        assert tok.convert_tokens_to_ids("</think>") == 151668


def test_layer_cut_keeps_widths_and_consistent_layer_indexes() -> None:
    cut = real_config(get_arch("qwen2_5_vl", "7b"), layers=2)
    assert cut.get_text_config().num_hidden_layers == 2 and cut.get_text_config().hidden_size == 3584
    assert cut.vision_config.depth == 2 and cut.vision_config.hidden_size == 1280
    assert cut.vision_config.fullatt_block_indexes == [1]  # no published full-attention block below 2: the last
    assert real_config(get_arch("qwen2_5_vl", "7b"), layers=2, vision_layers=16).vision_config.fullatt_block_indexes \
        == [7, 15]
    # Qwen3-VL-2B deepstack [5, 11, 17] of 24 blocks, scaled into 2: 5*2//24 = 0, 11*2//24 = 0, 17*2//24 = 1
    q3 = real_config(get_arch("qwen3_vl", "2b"), layers=2)
    assert q3.vision_config.deepstack_visual_indexes == [0, 1]
    with pytest.raises(UserError, match=r"--layers must be in 1\.\.36"):
        real_config(get_arch("qwen2_5_vl", "3b"), layers=37)
    with pytest.raises(UserError, match="choose one of 3b, 7b"):
        get_arch("qwen2_5_vl", "5b")


def test_model_paths_name_their_architecture() -> None:
    assert arch_for_model("/models/Qwen2.5-VL-7B-Instruct").name == "Qwen2.5-VL-7B-Instruct"
    assert arch_for_model("ckpt/qwen2_5_vl_3b").name == "Qwen2.5-VL-3B-Instruct"
    assert arch_for_model("/m/Qwen2-VL-2B").name == "Qwen2-VL-2B-Instruct"
    assert arch_for_model("/m/Qwen3-VL-8B-Thinking").name == "Qwen3-VL-8B-Instruct"
    assert arch_for_model("/m/Qwen2.5-VL-72B-Instruct") is None
    assert arch_for_model("runs/temple/sft") is None


def test_fast_random_init_fills_weights_norms_and_biases() -> None:
    import torch

    from tempoforge.models.real import fast_random_init

    layer = torch.nn.Sequential(torch.nn.Linear(300, 7000), torch.nn.LayerNorm(7000))
    fast_random_init(layer, seed=0)
    w = layer[0].weight
    w = w.detach()
    assert abs(float(w.std()) - 0.02) < 0.001 and abs(float(w.mean())) < 0.001
    assert not torch.equal(w[0], w[1]) and not torch.equal(w[:, 0], w[:, 1])
    assert torch.all(layer[0].bias == 0) and torch.all(layer[1].weight == 1) and torch.all(layer[1].bias == 0)


def test_models_init_cli_rejects_bad_input() -> None:
    env_py = [sys.executable, "-m", "tempoforge.cli"]
    bad = subprocess.run([*env_py, "models", "init", "--family", "qwen3_vl", "--size", "7b", "--out", "x"],
                         capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "tempoforge: error: no published qwen3_vl architecture of size '7b'; choose one of 2b, 8b"
    zero = subprocess.run([*env_py, "models", "init", "--size", "3b", "--out", "x", "--layers", "0"],
                          capture_output=True, text=True, cwd=REPO)
    assert zero.returncode == 2 and "--layers: must be at least 1" in zero.stderr


@pytest.mark.integration
def test_models_init_writes_a_checkpoint_that_loads_and_runs(tmp_path: Path) -> None:
    """The CLI as a user runs it: a 1-layer Qwen2-VL-2B (~0.7 GB) is written, loaded by ``load`` and predicts."""
    import numpy as np
    import torch

    from tempoforge.models.inputs import build_example, collate
    from tempoforge.models.load import load
    from tempoforge.records import Frames

    out = tmp_path / "q2vl"
    run = subprocess.run([sys.executable, "-m", "tempoforge.cli", "models", "init", "--family", "qwen2_vl", "--size",
                          "2b", "--layers", "1", "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr
    assert "Qwen2-VL-2B-Instruct architecture" in run.stdout
    lm = load(out, dtype="bfloat16")
    assert lm.family.model_type == "qwen2_vl" and lm.model.config.get_text_config().hidden_size == 1536
    assert lm.token_ids["video"] == 151656 and lm.token_ids["eos"] == 151645
    assert lm.vision.min_pixels == 3136 and lm.vision.max_pixels == 12845056  # the published preprocessor_config
    frames = Frames(np.zeros((4, 56, 56, 3), np.uint8), np.arange(4.0))
    lm.vision = lm.vision.__class__(**{**lm.vision.__dict__, "video_min_pixels": 3136, "video_max_pixels": 3136})
    ex = build_example(lm, "What happens?", frames, "mrope")
    batch = collate([ex], pad_token_id=lm.token_ids["pad"])
    with torch.no_grad():
        gen = lm.model.generate(**batch, max_new_tokens=2, do_sample=False)
    assert gen.shape[1] == ex.input_ids.shape[0] + 2
