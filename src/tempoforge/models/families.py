"""The supported model families and their quirks, in one table.

tempoforge supports the Qwen video-LLM line. The families share the vision tokens and the M-RoPE layout but
differ in exactly the ways that decide whether a model sees time correctly; every such difference is a
field of :class:`Family`, so code branches on a named property, never on a model-type string.

Measured on transformers 5.23 (DESIGN.md "Facts about the stack"):

- ``qwen2_vl``: the temporal M-RoPE index of a video is the temporal *patch index* (no notion of seconds);
  ``generate`` rejects a ``second_per_grid_ts`` argument.
- ``qwen2_5_vl``: absolute-time M-RoPE: temporal index = ``floor(t * tokens_per_second)`` with ``t`` the
  time of the temporal patch; without ``second_per_grid_ts`` the stock model silently assumes 2 fps.
- ``qwen3_vl``: time is given as text, one ``<t seconds>`` marker before every temporal patch, each patch
  its own vision block; requires ``mm_token_type_ids``; patch size 16 and mean/std 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

from tempoforge.errors import UserError

__all__ = ["FAMILIES", "Family", "get_family", "supported_model_types"]

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
HALF = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class Family:
    """What tempoforge needs to know about one model family."""

    model_type: str
    model_class: str  # name in ``transformers``
    patch_size: int
    image_mean: tuple[float, float, float]
    image_std: tuple[float, float, float]
    # M-RoPE temporal index of a video patch group is time-based (t * tokens_per_second)
    time_aware_mrope: bool
    # the model's forward takes ``second_per_grid_ts``; generate accepts it
    takes_second_per_grid_ts: bool
    # the model's native video form puts a ``<t seconds>`` marker before every temporal patch
    native_text_timestamps: bool
    # the stock ``get_rope_index`` starts the text after a video at ``max(h, w) // merge`` past its start
    # instead of at the largest vision position + 1 (the original implementation)
    stock_text_after_video_overlaps: bool
    # name of the TRL chat template to use when a checkpoint ships none
    trl_chat_template: str


FAMILIES: dict[str, Family] = {
    "qwen2_vl": Family(
        model_type="qwen2_vl",
        model_class="Qwen2VLForConditionalGeneration",
        patch_size=14,
        image_mean=OPENAI_CLIP_MEAN,
        image_std=OPENAI_CLIP_STD,
        time_aware_mrope=False,
        takes_second_per_grid_ts=False,
        native_text_timestamps=False,
        stock_text_after_video_overlaps=True,
        trl_chat_template="qwen2_5_vl_chat_template",
    ),
    "qwen2_5_vl": Family(
        model_type="qwen2_5_vl",
        model_class="Qwen2_5_VLForConditionalGeneration",
        patch_size=14,
        image_mean=OPENAI_CLIP_MEAN,
        image_std=OPENAI_CLIP_STD,
        time_aware_mrope=True,
        takes_second_per_grid_ts=True,
        native_text_timestamps=False,
        stock_text_after_video_overlaps=True,
        trl_chat_template="qwen2_5_vl_chat_template",
    ),
    "qwen3_vl": Family(
        model_type="qwen3_vl",
        model_class="Qwen3VLForConditionalGeneration",
        patch_size=16,
        image_mean=HALF,
        image_std=HALF,
        time_aware_mrope=False,
        takes_second_per_grid_ts=False,
        native_text_timestamps=True,
        stock_text_after_video_overlaps=False,  # every vision block has t = 1, so both rules agree
        trl_chat_template="qwen3_vl_chat_template",
    ),
}


def supported_model_types() -> list[str]:
    return sorted(FAMILIES)


def get_family(model_type: str) -> Family:
    """The :class:`Family` for a ``config.json`` ``model_type``; a :class:`UserError` listing the supported."""
    try:
        return FAMILIES[model_type]
    except KeyError:
        raise UserError(
            f"unsupported model_type {model_type!r}; tempoforge supports {', '.join(supported_model_types())}"
        ) from None
