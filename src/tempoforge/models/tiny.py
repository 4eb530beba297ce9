"""Tiny random-initialised Qwen2-VL / Qwen2.5-VL / Qwen3-VL models built entirely offline.

Tests, the demo and every CPU training path use these (DESIGN.md principle 7). ``build_tiny`` returns a
model, a small byte-level BPE tokenizer trained in code with the Qwen special tokens and the Qwen chat
template (TRL's copy), and the preprocessing constants; with ``out_dir`` it writes a checkpoint directory
in the stock layout (``config.json``, weights, tokenizer files, ``preprocessor_config.json``,
``video_preprocessor_config.json``) that :func:`tempoforge.models.load.load` reads like a real one.

Sizes (text hidden 64, 2 layers, 4 heads / 2 KV heads, ``mrope_section`` [2, 3, 3] summing to
head_dim / 2; vision depth 2, hidden 32) keep a forward on 16 frames of 56x56 in milliseconds.
``tokens_per_second`` is 2 as in the released Qwen2.5-VL checkpoints (the transformers default is 4).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from tempoforge.models.families import get_family
from tempoforge.models.load import LoadedModel, tokenizer_token_ids
from tempoforge.models.tensorize import VisionSpec

__all__ = ["QWEN_SPECIAL_TOKENS", "build_tiny", "build_tiny_tokenizer"]

QWEN_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)

_CORPUS = (
    "system user assistant You are a helpful assistant.",
    "Give the start and end time of the query in the video, in seconds.",
    "The event happens from 12.5 to 20.0 seconds. From 0.0 to 3.5, a person opens the door.",
    "Partition and identify events by dividing the video into a series of non-overlapping segments.",
    "Answer with the option's letter from the given choices directly. (A) (B) (C) (D)",
    "<think> reasoning </think><answer> 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 </answer>",
    "a red square, a blue circle, moves left, right, up, down, appears, disappears. seconds second",
)

TEXT_SIZE = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2}
MROPE_SECTION = [2, 3, 3]  # sums to head_dim / 2 = 64 / 4 / 2


def build_tiny_tokenizer(vocab_size: int = 512) -> Any:
    """A byte-level BPE ``Qwen2Tokenizer`` trained in code, special tokens first (ids 0..13)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(QWEN_SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(list(_CORPUS) * 4, trainer)
    state = json.loads(bpe.to_str())
    vocab = state["model"]["vocab"]
    # merges must be tuples (DESIGN.md), although the annotation says strings
    merges: Any = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in state["model"]["merges"]]
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token="<|endoftext|>", eos_token="<|im_end|>",
                         pad_token="<|endoftext|>")
    tok.add_special_tokens({"additional_special_tokens": list(QWEN_SPECIAL_TOKENS[1:])})
    return tok


def _configs(model_type: str, vocab_size: int, ids: dict[str, int]) -> Any:
    import transformers

    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": list(MROPE_SECTION)}
    text: dict[str, Any] = {**TEXT_SIZE, "vocab_size": vocab_size, "rope_parameters": rope,
                            "max_position_embeddings": 4096, "eos_token_id": ids["eos"],
                            "pad_token_id": ids["pad"], "bos_token_id": None}
    hidden = TEXT_SIZE["hidden_size"]
    common: dict[str, Any] = {"image_token_id": ids["image"], "video_token_id": ids["video"],
              "vision_start_token_id": ids["vision_start"], "vision_end_token_id": ids["vision_end"]}
    if model_type == "qwen2_vl":
        vision: dict[str, Any] = {"depth": 2, "embed_dim": 32, "hidden_size": hidden, "num_heads": 2, "mlp_ratio": 2,
                  "patch_size": 14}
        return transformers.Qwen2VLConfig(text_config=text, vision_config=vision, **common)
    if model_type == "qwen2_5_vl":
        vision = {"depth": 2, "hidden_size": 32, "out_hidden_size": hidden, "intermediate_size": 64,
                  "num_heads": 2, "patch_size": 14, "window_size": 56, "fullatt_block_indexes": [1],
                  "tokens_per_second": 2}
        return transformers.Qwen2_5_VLConfig(text_config=text, vision_config=vision, **common)
    text.update(head_dim=hidden // TEXT_SIZE["num_attention_heads"])
    text["rope_parameters"] = {**rope, "mrope_interleaved": True}
    vision = {"depth": 2, "hidden_size": 32, "out_hidden_size": hidden, "intermediate_size": 64, "num_heads": 2,
              "patch_size": 16, "num_position_embeddings": 64, "deepstack_visual_indexes": [0]}
    return transformers.Qwen3VLConfig(text_config=text, vision_config=vision, **common)


def tiny_vision_spec(model_type: str) -> VisionSpec:
    """Small pixel limits: frames are resized to at most 2x2 merged patches (56x56, Qwen3-VL 64x64)."""
    fam = get_family(model_type)
    factor = fam.patch_size * 2
    per_frame = 4 * factor * factor
    if fam.native_text_timestamps:  # Qwen3-VL budgets the pixels of all frames of a video together
        return VisionSpec(patch_size=fam.patch_size, min_pixels=factor * factor, max_pixels=per_frame,
                          video_min_pixels=factor * factor, video_max_pixels=per_frame * 256, budget="total",
                          image_mean=fam.image_mean, image_std=fam.image_std)
    return VisionSpec(patch_size=fam.patch_size, min_pixels=factor * factor, max_pixels=per_frame,
                      video_min_pixels=factor * factor, video_max_pixels=per_frame,
                      image_mean=fam.image_mean, image_std=fam.image_std)


def preprocessor_configs(model_type: str, spec: VisionSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """``preprocessor_config.json`` and ``video_preprocessor_config.json`` in the stock format."""
    common = {"patch_size": spec.patch_size, "temporal_patch_size": spec.temporal_patch_size,
              "merge_size": spec.merge_size, "image_mean": list(spec.image_mean), "image_std": list(spec.image_std),
              "do_resize": True, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
              "do_convert_rgb": True, "resample": 3}
    image = {**common, "image_processor_type": "Qwen2VLImageProcessor",
             "size": {"shortest_edge": spec.min_pixels, "longest_edge": spec.max_pixels}}
    vclass = "Qwen3VLVideoProcessor" if model_type == "qwen3_vl" else "Qwen2VLVideoProcessor"
    video = {**common, "video_processor_type": vclass,
             "size": {"shortest_edge": spec.video_min_pixels, "longest_edge": spec.video_max_pixels}}
    return image, video


def build_tiny(model_type: str, out_dir: str | Path | None = None, seed: int = 0) -> LoadedModel:
    """A random-initialised tiny model of ``model_type`` (``qwen2_vl``, ``qwen2_5_vl``, ``qwen3_vl``).

    Deterministic for a given ``seed``. With ``out_dir`` the checkpoint is saved there (and the returned
    model is the saved one, so ``load(out_dir)`` gives identical weights).
    """
    import transformers
    import trl.chat_template_utils as ctu

    fam = get_family(model_type)
    tok = build_tiny_tokenizer()
    tok.chat_template = getattr(ctu, fam.trl_chat_template)
    ids = tokenizer_token_ids(tok)
    config = _configs(model_type, len(tok), ids)
    torch.manual_seed(seed)
    model = getattr(transformers, fam.model_class)(config).eval()
    model.generation_config.eos_token_id = [ids["eos"], ids["pad"]]
    model.generation_config.pad_token_id = ids["pad"]
    model.generation_config.bos_token_id = None
    model.generation_config.do_sample = False
    spec = tiny_vision_spec(model_type)
    path = None
    if out_dir is not None:
        path = Path(out_dir)
        path.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(path)
        tok.save_pretrained(path)
        image_cfg, video_cfg = preprocessor_configs(model_type, spec)
        (path / "preprocessor_config.json").write_text(json.dumps(image_cfg, indent=2))
        (path / "video_preprocessor_config.json").write_text(json.dumps(video_cfg, indent=2))
    return LoadedModel(model=model, tokenizer=tok, family=fam, vision=spec, path=path)
