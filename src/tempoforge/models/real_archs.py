"""The published architectures of the real checkpoints tempoforge targets, as plain data (no weights).

Each entry is what the model's Hugging Face repository publishes: ``config.json`` (the fields that define
the architecture and the special-token ids), ``preprocessor_config.json`` (and
``video_preprocessor_config.json`` where the repository ships one), and the special tokens its tokenizer
adds after the 151,643 regular BPE tokens, in id order. ``models/real.py`` builds random-initialised
checkpoints from them; ``tests/models/test_models_real.py`` checks the built models against the published
numbers, written down there independently with their sources.

Sources (the repositories' files; read through public mirrors, see the test):
https://huggingface.co/Qwen/Qwen2-VL-2B-Instruct, .../Qwen2-VL-7B-Instruct, .../Qwen2.5-VL-3B-Instruct,
.../Qwen2.5-VL-7B-Instruct, .../Qwen3-VL-2B-Instruct, .../Qwen3-VL-8B-Instruct (``config.json``,
``preprocessor_config.json``, ``video_preprocessor_config.json``, ``tokenizer_config.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ARCHS", "FIRST_SPECIAL_ID", "RealArch"]

# Qwen2 BPE: 151,643 regular tokens (ids 0..151642); the added special tokens follow from this id.
FIRST_SPECIAL_ID = 151643

_QWEN2_SPECIALS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>",
)
_QWEN25_SPECIALS = (
    *_QWEN2_SPECIALS, "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
    "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
)
_QWEN3_SPECIALS = (*_QWEN25_SPECIALS, "<tool_response>", "</tool_response>", "<think>", "</think>")

_IDS = {"bos_token_id": 151643, "eos_token_id": 151645, "vision_start_token_id": 151652,
        "vision_end_token_id": 151653, "vision_token_id": 151654, "image_token_id": 151655,
        "video_token_id": 151656}
_CLIP = {"image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]}
_QWEN2_PRE = {"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2,
              "merge_size": 2, **_CLIP, "image_processor_type": "Qwen2VLImageProcessor"}
_HALF = {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}
_QWEN3_PRE = {"size": {"longest_edge": 16777216, "shortest_edge": 65536}, "patch_size": 16,
              "temporal_patch_size": 2, "merge_size": 2, **_HALF, "processor_class": "Qwen3VLProcessor",
              "image_processor_type": "Qwen2VLImageProcessorFast"}
_QWEN3_VIDEO_PRE = {"size": {"longest_edge": 25165824, "shortest_edge": 4096}, "patch_size": 16,
                    "temporal_patch_size": 2, "merge_size": 2, **_HALF, "processor_class": "Qwen3VLProcessor",
                    "video_processor_type": "Qwen3VLVideoProcessor"}


def _qwen2_vl(hidden: int, inter: int, heads: int, kv: int, vocab: int, tie: bool) -> dict[str, Any]:
    return {
        "architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl", **_IDS,
        "attention_dropout": 0.0, "hidden_act": "silu", "hidden_size": hidden, "initializer_range": 0.02,
        "intermediate_size": inter, "max_position_embeddings": 32768, "max_window_layers": 28,
        "num_attention_heads": heads, "num_hidden_layers": 28, "num_key_value_heads": kv, "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": tie, "torch_dtype": "bfloat16",
        "use_cache": True, "use_sliding_window": False, "vocab_size": vocab,
        "vision_config": {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4, "num_heads": 16, "in_chans": 3,
                          "hidden_size": hidden, "patch_size": 14, "spatial_merge_size": 2, "spatial_patch_size": 14,
                          "temporal_patch_size": 2},
        "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    }


def _qwen25_vl(hidden: int, inter: int, layers: int, heads: int, kv: int, vocab: int, tie: bool,
               window_layers: int) -> dict[str, Any]:
    return {
        "architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl", **_IDS,
        "attention_dropout": 0.0, "hidden_act": "silu", "hidden_size": hidden, "initializer_range": 0.02,
        "intermediate_size": inter, "max_position_embeddings": 128000, "max_window_layers": window_layers,
        "num_attention_heads": heads, "num_hidden_layers": layers, "num_key_value_heads": kv, "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": tie, "torch_dtype": "bfloat16",
        "use_cache": True, "use_sliding_window": False, "vocab_size": vocab,
        "vision_config": {"depth": 32, "hidden_act": "silu", "hidden_size": 1280, "intermediate_size": 3420,
                          "num_heads": 16, "in_chans": 3, "out_hidden_size": hidden, "patch_size": 14,
                          "spatial_merge_size": 2, "spatial_patch_size": 14, "window_size": 112,
                          "fullatt_block_indexes": [7, 15, 23, 31], "tokens_per_second": 2,
                          "temporal_patch_size": 2},
        "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
    }


def _qwen3_vl(hidden: int, inter: int, layers: int, heads: int, tie: bool, vdepth: int, vhidden: int,
              vinter: int, deepstack: list[int]) -> dict[str, Any]:
    return {
        "architectures": ["Qwen3VLForConditionalGeneration"], "model_type": "qwen3_vl",
        "image_token_id": 151655, "video_token_id": 151656, "vision_start_token_id": 151652,
        "vision_end_token_id": 151653, "tie_word_embeddings": tie,
        "text_config": {"attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 151643,
                        "dtype": "bfloat16", "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
                        "hidden_size": hidden, "initializer_range": 0.02, "intermediate_size": inter,
                        "max_position_embeddings": 262144, "model_type": "qwen3_vl_text",
                        "num_attention_heads": heads, "num_hidden_layers": layers, "num_key_value_heads": 8,
                        "rms_norm_eps": 1e-06,
                        "rope_scaling": {"mrope_interleaved": True, "mrope_section": [24, 20, 20],
                                         "rope_type": "default"},
                        "rope_theta": 5000000, "tie_word_embeddings": tie, "use_cache": True, "vocab_size": 151936},
        "vision_config": {"deepstack_visual_indexes": deepstack, "depth": vdepth, "hidden_act": "gelu_pytorch_tanh",
                          "hidden_size": vhidden, "in_channels": 3, "initializer_range": 0.02,
                          "intermediate_size": vinter, "model_type": "qwen3_vl", "num_heads": 16,
                          "num_position_embeddings": 2304, "out_hidden_size": hidden, "patch_size": 16,
                          "spatial_merge_size": 2, "temporal_patch_size": 2},
    }


@dataclass(frozen=True)
class RealArch:
    """One published checkpoint's architecture: its ``config.json``, processor configs and added tokens."""

    name: str  # the Hugging Face repository name, e.g. "Qwen2.5-VL-7B-Instruct"
    family: str  # config.json model_type
    size: str  # "2b", "3b", "7b", "8b"
    config: dict[str, Any]
    preprocessor: dict[str, Any]
    video_preprocessor: dict[str, Any] | None = None
    specials: tuple[str, ...] = _QWEN25_SPECIALS
    aliases: tuple[str, ...] = field(default=())

    @property
    def source(self) -> str:
        return f"https://huggingface.co/Qwen/{self.name}"


ARCHS: dict[tuple[str, str], RealArch] = {
    ("qwen2_vl", "2b"): RealArch("Qwen2-VL-2B-Instruct", "qwen2_vl", "2b",
                                 _qwen2_vl(1536, 8960, 12, 2, 151936, True),
                                 {**_QWEN2_PRE, "processor_class": "Qwen2VLProcessor"}, specials=_QWEN2_SPECIALS),
    ("qwen2_vl", "7b"): RealArch("Qwen2-VL-7B-Instruct", "qwen2_vl", "7b",
                                 _qwen2_vl(3584, 18944, 28, 4, 152064, False),
                                 {**_QWEN2_PRE, "processor_class": "Qwen2VLProcessor"}, specials=_QWEN2_SPECIALS),
    ("qwen2_5_vl", "3b"): RealArch("Qwen2.5-VL-3B-Instruct", "qwen2_5_vl", "3b",
                                   _qwen25_vl(2048, 11008, 36, 16, 2, 151936, True, 70),
                                   {**_QWEN2_PRE, "processor_class": "Qwen2_5_VLProcessor"}),
    ("qwen2_5_vl", "7b"): RealArch("Qwen2.5-VL-7B-Instruct", "qwen2_5_vl", "7b",
                                   _qwen25_vl(3584, 18944, 28, 28, 4, 152064, False, 28),
                                   {**_QWEN2_PRE, "processor_class": "Qwen2_5_VLProcessor"}),
    ("qwen3_vl", "2b"): RealArch("Qwen3-VL-2B-Instruct", "qwen3_vl", "2b",
                                 _qwen3_vl(2048, 6144, 28, 16, True, 24, 1024, 4096, [5, 11, 17]),
                                 _QWEN3_PRE, _QWEN3_VIDEO_PRE, specials=_QWEN3_SPECIALS),
    ("qwen3_vl", "8b"): RealArch("Qwen3-VL-8B-Instruct", "qwen3_vl", "8b",
                                 _qwen3_vl(4096, 12288, 36, 32, False, 27, 1152, 4304, [8, 16, 24]),
                                 _QWEN3_PRE, _QWEN3_VIDEO_PRE, specials=_QWEN3_SPECIALS),
}
