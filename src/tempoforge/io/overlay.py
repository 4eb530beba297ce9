"""Burned-in timestamps and contact sheets: the pictures of time that people and models look at.

``draw_timestamp`` follows TEMPURA's visual timestamp (METHODS.md 2.2): the time as ``f"{t:.1f}"``,
white, bold, at the top-left on a black box padded 5 px, font height = image height / 10, drawn before
any resizing; ``burn_timestamps`` does it to every frame of a ``Frames`` (the ``overlay`` timestamp strategy).
``contact_sheet`` tiles frames chronologically with each frame's time on it (TEMPURA's
frame grids use the same layout).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tempoforge.records import Frames

__all__ = ["OVERLAY_PAD", "bold_font", "burn_timestamps", "contact_sheet", "draw_timestamp", "label_text"]

OVERLAY_PAD = 5  # px around the text (METHODS.md 2.2)


@functools.lru_cache(maxsize=32)
def bold_font(pixel_height: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans Bold at ``pixel_height`` (shipped with matplotlib, so it works offline)."""
    try:
        from matplotlib import font_manager

        path = font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans", weight="bold"))
        return ImageFont.truetype(path, size=max(6, pixel_height))
    except (ImportError, OSError):  # pragma: no cover - matplotlib is a dependency
        return ImageFont.load_default(size=max(6, pixel_height))


def label_text(t: float) -> str:
    """The overlay text for time ``t``: ``12.5`` -> ``"12.5"`` (METHODS.md 2.2: ``f"{t:.1f}"``)."""
    return f"{t:.1f}"


def draw_timestamp(image: np.ndarray, t: float, *, pad: int = OVERLAY_PAD, text: str | None = None) -> np.ndarray:
    """A copy of ``image`` (H, W, 3 uint8) with time ``t`` in white bold on a black box at the top-left."""
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
    pil = Image.fromarray(image)
    draw = ImageDraw.Draw(pil)
    font = bold_font(max(1, round(image.shape[0] / 10)))
    label = label_text(t) if text is None else text
    # the box hugs the glyphs' ink (textbbox), padded ``pad`` px on every side, anchored at the corner
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    draw.rectangle((0, 0, right - left + 2 * pad, bottom - top + 2 * pad), fill=(0, 0, 0))
    draw.text((pad - left, pad - top), label, fill=(255, 255, 255), font=font)
    return np.asarray(pil)


def burn_timestamps(frames: Frames, skip: Sequence[bool] | np.ndarray | None = None) -> Frames:
    """A copy of ``frames`` with each frame's own time ``f"{t:.1f}"`` burned in (TEMPURA overlay).

    Frames where ``skip`` is true are left as they are (TEMPURA's masked frames: black, no timestamp).
    """
    flags = [False] * len(frames) if skip is None else [bool(x) for x in skip]
    if len(flags) != len(frames):
        raise ValueError(f"skip has {len(flags)} flags for {len(frames)} frames")
    data = np.stack([img.copy() if k else draw_timestamp(img, float(t), pad=OVERLAY_PAD)
                     for img, t, k in zip(frames.data, frames.times, flags, strict=True)])
    return Frames(data, frames.times.copy(), frames.info,
                  None if frames.requested is None else frames.requested.copy(), list(frames.warnings))


def contact_sheet(images: Sequence[np.ndarray] | np.ndarray, times: Sequence[float], *, cols: int | None = None,
                  tile_width: int = 256, gap: int = 4) -> np.ndarray:
    """Tile ``images`` left to right, top to bottom, each labelled with its time; returns one RGB array."""
    n = len(images)
    if n == 0:
        raise ValueError("no frames to put on a contact sheet")
    if len(times) != n:
        raise ValueError(f"{n} frames but {len(times)} times")
    cols = cols or min(n, max(1, math.ceil(math.sqrt(n * 16 / 9))))
    rows = math.ceil(n / cols)
    h0, w0 = images[0].shape[:2]
    tile_h = max(1, round(h0 * tile_width / w0))
    sheet = Image.new("RGB", (cols * tile_width + (cols + 1) * gap, rows * tile_h + (rows + 1) * gap), (32, 32, 32))
    for i, (img, t) in enumerate(zip(images, times, strict=True)):
        tile = Image.fromarray(np.asarray(img)).resize((tile_width, tile_h), Image.Resampling.BILINEAR)
        tile_arr = draw_timestamp(np.asarray(tile), float(t), text=f"{float(t):.2f}s")
        r, c = divmod(i, cols)
        sheet.paste(Image.fromarray(tile_arr), (gap + c * (tile_width + gap), gap + r * (tile_h + gap)))
    return np.asarray(sheet)
