"""The torch tensorizer vs the stock Qwen processors (PIL image processor; video processor if torchvision)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from tempoforge.errors import UserError
from tempoforge.models.tensorize import (
    VisionSpec,
    smart_resize,
    smart_resize_total,
    tensorize_images,
    tensorize_video,
)

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


def test_smart_resize_hand_values() -> None:
    # 56x56 already on the 28 grid and within [784, 3136]: kept
    assert smart_resize(56, 56, 28, 784, 3136) == (56, 56)
    # 60x80: round(60/28)=2 -> 56, round(80/28)=3 -> 84; 56*84 = 4704 > 3136 ->
    # beta = sqrt(4800/3136) = 1.2372; floor(60/1.2372/28)=1 -> 28, floor(80/1.2372/28)=2 -> 56
    assert smart_resize(60, 80, 28, 784, 3136) == (28, 56)
    # 10x10 -> rounds to 0x0 < min 784 -> beta = sqrt(784/100) = 2.8 -> ceil(28/28)*28 = 28 each
    assert smart_resize(10, 10, 28, 784, 3136) == (28, 28)
    # Qwen3-VL total budget: 8 frames of 64x64 with budget 4*64*64 total pixels ->
    # t_bar*h*w = 8*4096 > 16384 -> beta = sqrt(8*4096/16384) = sqrt(2); floor(64/1.414/32)*32 = 32
    assert smart_resize_total(8, 64, 64, 32, 1024, 4 * 64 * 64) == (32, 32)
    with pytest.raises(UserError, match="aspect ratio"):
        smart_resize(1, 300, 28, 784, 3136)


def _stock_image_processor(spec: VisionSpec):  # type: ignore[no-untyped-def]
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    return Qwen2VLImageProcessorPil(min_pixels=spec.min_pixels, max_pixels=spec.max_pixels,
                                    patch_size=spec.patch_size, temporal_patch_size=spec.temporal_patch_size,
                                    merge_size=spec.merge_size, image_mean=list(spec.image_mean),
                                    image_std=list(spec.image_std))


@pytest.mark.parametrize("hw", [(56, 84), (112, 56)])
def test_exact_match_with_stock_pil_image_processor_on_grid(hw: tuple[int, int]) -> None:
    """Frames already on the patch grid: no resize, so normalisation and patch order must match exactly."""
    spec = VisionSpec(min_pixels=784, max_pixels=112 * 112)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (*hw, 3), dtype=np.uint8)
    stock = _stock_image_processor(spec)(images=[img], return_tensors="pt")
    ours = tensorize_images(img[None], spec, video_sizing=False)
    assert torch.equal(ours.grid_thw, stock["image_grid_thw"])
    assert ours.pixel_values.dtype == stock["pixel_values"].dtype == torch.float32
    assert torch.equal(ours.pixel_values, stock["pixel_values"])
    # a still video (the frame twice = one temporal patch) gives the same rows as the image
    video = tensorize_video(np.stack([img, img]), VisionSpec(video_min_pixels=784, video_max_pixels=112 * 112))
    assert torch.equal(video.pixel_values, stock["pixel_values"])
    assert video.grid_thw.tolist() == stock["image_grid_thw"].tolist()


def test_exact_match_with_stock_when_resizing_with_pil() -> None:
    """``resample="pil"`` reproduces the stock PIL path exactly, resize included (60x80 -> 28x56)."""
    spec = VisionSpec(min_pixels=784, max_pixels=3136, patch_size=14)
    img = np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    stock = _stock_image_processor(spec)(images=[img], return_tensors="pt")
    ours = tensorize_images(img[None], spec, resample="pil", video_sizing=False)
    assert stock["image_grid_thw"].tolist() == [[1, 2, 4]]
    assert torch.equal(ours.pixel_values, stock["pixel_values"])
    # torch's antialiased bicubic differs from PIL's only by rounding-level amounts on a smooth image
    smooth = np.broadcast_to(np.linspace(0, 255, 80, dtype=np.uint8)[None, :, None], (60, 80, 3)).copy()
    a = tensorize_images(smooth[None], spec, resample="pil", video_sizing=False).pixel_values
    b = tensorize_images(smooth[None], spec, resample="torch", video_sizing=False).pixel_values
    # one uint8 step is 1/255/std ~ 0.0146 after normalisation; allow 3 steps
    assert float((a - b).abs().max()) < 3 * (1 / 255) / min(spec.image_std)


def test_float32_rescale_equals_stock_float64_rescale_for_every_uint8() -> None:
    """The stock PIL path computes float32(x * (1/255) in float64); ours float32(x) / 255 in float32."""
    v = torch.arange(256)
    stock = (v.to(torch.float64) * (1 / 255)).to(torch.float32)
    assert torch.equal(v.to(torch.float32) / 255, stock)


def test_video_grid_and_odd_frame_padding() -> None:
    spec = VisionSpec(video_min_pixels=784, video_max_pixels=3136)
    frames = np.random.default_rng(2).integers(0, 256, (5, 56, 56, 3), dtype=np.uint8)
    out = tensorize_video(frames, spec)
    # 5 frames -> padded to 6 with the last frame -> t = 3; 56/14 = 4 -> grid (3, 4, 4)
    assert out.grid_thw.tolist() == [[3, 4, 4]]
    assert out.pixel_values.shape == (3 * 4 * 4, 3 * 2 * 14 * 14)
    # the last group is frame 4 twice: its two temporal halves are equal
    last = out.pixel_values[-16:].view(16, 3, 2, 14, 14)
    assert torch.equal(last[:, :, 0], last[:, :, 1])
    # and differs from the first group's second half (frame 1 != frame 0 here)
    first = out.pixel_values[:16].view(16, 3, 2, 14, 14)
    assert not torch.equal(first[:, :, 0], first[:, :, 1])


def test_bad_frames_are_user_errors() -> None:
    spec = VisionSpec()
    with pytest.raises(UserError, match="uint8"):
        tensorize_video(np.zeros((2, 56, 56, 3), np.float32), spec)
    with pytest.raises(UserError, match="shape"):
        tensorize_video(np.zeros((2, 56, 56), np.uint8), spec)


@pytest.mark.skipif(not HAS_TORCHVISION, reason="torchvision is not installed (no CPU build on this platform): "
                    "the stock Qwen video processor cannot be built, so only the PIL image-processor check runs")
def test_matches_stock_video_processor() -> None:  # pragma: no cover - needs torchvision
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    spec = VisionSpec(video_min_pixels=784, video_max_pixels=3136)
    frames = np.random.default_rng(3).integers(0, 256, (4, 60, 80, 3), dtype=np.uint8)
    proc = Qwen2VLVideoProcessor(size={"shortest_edge": 784, "longest_edge": 3136}, do_sample_frames=False)
    stock = proc(videos=[frames], return_tensors="pt")
    ours = tensorize_video(frames, spec)
    assert torch.equal(ours.grid_thw, stock["video_grid_thw"])
    assert torch.allclose(ours.pixel_values, stock["pixel_values_videos"], atol=1e-5)


def test_a_cached_read_only_frame_array_is_copied_never_shared() -> None:
    """Cached frames are read-only numpy arrays; the uint8 tensor made from them is always a copy, even when the
    (N, 3, H, W) view is already contiguous (1x1 frames), so nothing downstream can write into the cache."""
    from tempoforge.models.tensorize import _as_uint8_nchw

    for shape in ((2, 1, 1, 3), (2, 4, 6, 3)):
        frames = np.zeros(shape, np.uint8)
        frames.setflags(write=False)
        x = _as_uint8_nchw(frames)
        x += 7
        assert tuple(x.shape) == (shape[0], 3, shape[1], shape[2]) and int(frames.max()) == 0
