"""Stock-compatible Qwen processors without torchvision (for APIs that want a ``processing_class``).

transformers 5.x cannot build any Qwen-VL processor without torchvision: the video processors need it and
``ProcessorMixin`` refuses a missing or foreign video processor (DESIGN.md "Facts about the stack").
:class:`TorchVideoProcessor` is a ``BaseVideoProcessor`` whose preprocessing is tempoforge's torch
tensorizer, and :func:`make_processor` wraps it with the stock PIL image processor and the tokenizer in
the family's stock processor class (with the class check relaxed for this video processor only).

Use it where a library insists on a processor (e.g. TRL's ``processing_class``). For model inputs prefer
:func:`tempoforge.models.inputs.build_example`: the stock processors cannot carry the actual frame times
into the M-RoPE positions, nor the original text-after-video rule (``positions.py``); they assume uniform
frames at ``metadata.fps``. Known difference: transformers 5.23's Qwen3-VL processor replaces only the
``<|video_pad|>`` and leaves the template's outer ``<|vision_start|>`` / ``<|vision_end|>`` around the
per-patch blocks; the original Qwen3-VL processor (and ``build_example``) replaces the whole
``<|vision_start|><|video_pad|><|vision_end|>``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from tempoforge.models.load import LoadedModel
from tempoforge.models.tensorize import VisionSpec, tensorize_video
from tempoforge.records import Frames

__all__ = ["TorchVideoProcessor", "make_processor", "video_metadata"]


def video_metadata(frames: Frames) -> Any:
    """A ``transformers`` ``VideoMetadata`` for sampled frames (fps from the actual frame spacing).

    The stock processors derive times as ``frames_indices / fps``; integer indices cannot hold arbitrary
    times, so ``fps`` is the median spacing and indices are the rounded times times that rate.
    """
    from transformers.video_utils import VideoMetadata

    t = frames.times
    rate = 1.0 / float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    idx = [round(x * rate) for x in t]
    h, w = frames.data.shape[1:3]
    return VideoMetadata(total_num_frames=max(idx) + 1, fps=rate, width=w, height=h,
                         duration=float(t[-1]) + 1.0 / rate, video_backend="tempoforge", frames_indices=idx)


def _base_video_processor() -> type:
    from transformers.video_processing_utils import BaseVideoProcessor

    return BaseVideoProcessor


class TorchVideoProcessor(_base_video_processor()):  # type: ignore[misc]
    """A Qwen video processor that runs :func:`tensorize_video` (torch only) instead of torchvision."""

    model_input_names: ClassVar[list[str]] = ["pixel_values_videos", "video_grid_thw"]

    def __init__(self, spec: VisionSpec | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec or VisionSpec()
        self.patch_size = self.spec.patch_size
        self.temporal_patch_size = self.spec.temporal_patch_size
        self.merge_size = self.spec.merge_size

    def preprocess(self, videos: Any, video_metadata: Any = None, return_metadata: bool = True,
                   return_tensors: Any = None, **kwargs: Any) -> Any:
        """``videos``: a uint8 ``(N, H, W, 3)`` array, a :class:`Frames`, or a list of them."""
        import torch
        from transformers.feature_extraction_utils import BatchFeature

        items = videos if isinstance(videos, (list, tuple)) else [videos]
        metas = list(video_metadata) if video_metadata is not None else [None] * len(items)
        rows, grids, out_meta = [], [], []
        for item, meta in zip(items, metas, strict=True):
            frames = item if isinstance(item, Frames) else Frames(np.asarray(item), np.arange(len(item), dtype=np.float64))
            tz = tensorize_video(frames.data, self.spec)
            rows.append(tz.pixel_values)
            grids.append(tz.grid_thw)
            out_meta.append(meta if meta is not None else _metadata(frames))
        data: dict[str, Any] = {"pixel_values_videos": torch.cat(rows), "video_grid_thw": torch.cat(grids)}
        if return_metadata:
            data["video_metadata"] = out_meta
        return BatchFeature(data=data)

    __call__ = preprocess


_metadata = video_metadata


def make_processor(lm: LoadedModel) -> Any:
    """The family's stock processor class built on the PIL image processor and :class:`TorchVideoProcessor`."""
    import transformers
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    names = {"qwen2_vl": "Qwen2VLProcessor", "qwen2_5_vl": "Qwen2_5_VLProcessor", "qwen3_vl": "Qwen3VLProcessor"}
    stock = getattr(transformers, names[lm.family.model_type])

    class Processor(stock):  # type: ignore[misc, valid-type]
        def check_argument_for_proper_class(self, argument_name: str, argument: Any) -> Any:
            if argument_name == "video_processor" and isinstance(argument, TorchVideoProcessor):
                return TorchVideoProcessor
            return super().check_argument_for_proper_class(argument_name, argument)

    Processor.__name__ = Processor.__qualname__ = stock.__name__
    spec = lm.vision
    image = Qwen2VLImageProcessorPil(min_pixels=spec.min_pixels, max_pixels=spec.max_pixels, patch_size=spec.patch_size,
                                     temporal_patch_size=spec.temporal_patch_size, merge_size=spec.merge_size,
                                     image_mean=list(spec.image_mean), image_std=list(spec.image_std))
    return Processor(image_processor=image, tokenizer=lm.tokenizer, video_processor=TorchVideoProcessor(spec),
                     chat_template=lm.tokenizer.chat_template)
