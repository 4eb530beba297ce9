"""Videos made with PyAV at test time, with known timestamps; each frame shows its index as a bar code.

Frame ``i`` carries ``i`` in binary as 10 blocks of 8x8 pixels along its top row (white = 1), which
survives lossy compression, so a test can tell which frame the decoder returned without trusting the
decoder's own timestamps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

BITS = 10
BLOCK = 8


def frame_image(i: int, width: int = 96, height: int = 64) -> np.ndarray:
    """An RGB frame with index ``i`` encoded in the top row of blocks; a coloured gradient below."""
    img = np.zeros((height, width, 3), np.uint8)
    img[BLOCK:, :, 0] = (i * 7) % 256
    img[BLOCK:, :, 2] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    for b in range(BITS):
        if (i >> b) & 1:
            img[:BLOCK, b * BLOCK:(b + 1) * BLOCK] = 255
    return img


def read_index(img: np.ndarray) -> int:
    """Decode the frame index from the top row of blocks (inverse of ``frame_image``)."""
    value = 0
    for b in range(BITS):
        block = img[1:BLOCK - 1, b * BLOCK + 1:(b + 1) * BLOCK - 1]
        if block.mean() > 127:
            value |= 1 << b
    return value


def encode(path: Path, pts: Sequence[int], time_base: Fraction, *, rate: Fraction, codec: str = "libx264",
           rotation: int = 0, size: tuple[int, int] = (96, 64), options: dict[str, str] | None = None,
           container_options: dict[str, str] | None = None, gop: int = 10, bframes: int = 0) -> Path:
    """Write frames 0..len(pts)-1 with the given presentation timestamps (in ``time_base`` units)."""
    w, h = size
    with av.open(str(path), "w", options=container_options or {}) as c:
        s = c.add_stream(codec, rate=rate, options=options or {})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.time_base = time_base
        s.codec_context.time_base = time_base
        s.codec_context.gop_size = gop
        s.codec_context.max_b_frames = bframes
        if rotation:
            s.set_display_rotation(rotation)
        for i, p in enumerate(pts):
            f = av.VideoFrame.from_ndarray(frame_image(i, w, h), format="rgb24")
            f.pts = p
            f.time_base = time_base
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


VideoFactory = Callable[..., Path]


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="session")
def cfr_video(video_dir: Path) -> Callable[[Fraction, int], Path]:
    """Constant-rate H.264 MP4 at ``fps`` with ``n`` frames; frame i at exactly i/fps."""
    cache: dict[tuple[Fraction, int], Path] = {}

    def make(fps: Fraction, n: int = 100) -> Path:
        if (fps, n) not in cache:
            tb = 1 / fps
            cache[(fps, n)] = encode(video_dir / f"cfr_{fps.numerator}_{fps.denominator}_{n}.mp4", list(range(n)),
                                     tb, rate=fps)
        return cache[(fps, n)]

    return make


@pytest.fixture(scope="session")
def vfr_video(video_dir: Path) -> tuple[Path, list[float]]:
    """Variable-rate MKV: intervals alternate 20 ms and 100 ms; returns the path and every frame time."""
    pts, t = [], 0
    for i in range(60):
        pts.append(t)
        t += 20 if i % 2 == 0 else 100
    path = encode(video_dir / "vfr.mkv", pts, Fraction(1, 1000), rate=Fraction(25))
    return path, [p / 1000 for p in pts]


@pytest.fixture(scope="session")
def offset_video(video_dir: Path) -> Path:
    """MKV whose first frame has pts 2.5 s (25 fps, 50 frames)."""
    pts = [2500 + 40 * i for i in range(50)]
    return encode(video_dir / "offset.mkv", pts, Fraction(1, 1000), rate=Fraction(25))


@pytest.fixture(scope="session")
def rotated_video(video_dir: Path) -> Path:
    """96x64 MP4 with a 90-degree display rotation."""
    return encode(video_dir / "rotated.mp4", list(range(10)), Fraction(1, 25), rate=Fraction(25), rotation=90)


@pytest.fixture(scope="session")
def long_gop_video(video_dir: Path) -> Path:
    """25 fps, 20 s, a keyframe every 2 s, B-frames: sparse sampling must seek, not decode everything."""
    return encode(video_dir / "long_gop.mp4", list(range(500)), Fraction(1, 25), rate=Fraction(25), gop=50)


@pytest.fixture(scope="session")
def bframe_video(video_dir: Path) -> Path:
    """25 fps, 20 s, keyframe every 2 s, smooth motion that x264 codes with B-frames (non-reference frames)."""
    path = video_dir / "bframes.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=Fraction(25))
        s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
        s.codec_context.gop_size = 50
        s.codec_context.max_b_frames = 2
        for i in range(500):
            img = np.full((64, 96, 3), (i * 4) % 256, np.uint8)
            img[:, i % 96] = 255
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            f.time_base = Fraction(1, 25)
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


@pytest.fixture(scope="session")
def truncated_mkv(video_dir: Path) -> Path:
    """A 10 s MKV at 25 fps cut to its first 55% of bytes."""
    full = encode(video_dir / "full_for_trunc.mkv", list(range(250)), Fraction(1, 25), rate=Fraction(25))
    data = full.read_bytes()
    out = video_dir / "truncated.mkv"
    out.write_bytes(data[: int(len(data) * 0.55)])
    return out


@pytest.fixture(scope="session")
def truncated_mp4(video_dir: Path) -> Path:
    """A 10 s MP4 (index at the end, the default) cut to its first 55%: the index is lost."""
    full = encode(video_dir / "full_for_trunc.mp4", list(range(250)), Fraction(1, 25), rate=Fraction(25))
    out = video_dir / "truncated.mp4"
    out.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.55)])
    return out


@pytest.fixture(scope="session")
def audio_only(video_dir: Path) -> Path:
    """An M4A-like MP4 with one AAC audio stream and no video."""
    path = video_dir / "audio_only.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=16000)
        s.layout = "mono"
        samples = (np.sin(np.linspace(0, 200, 16000)) * 0.3).astype(np.float32)[None, :]
        for k in range(0, 16000, 1024):
            chunk = samples[:, k:k + 1024]
            f = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            f.sample_rate = 16000
            f.pts = k
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


@pytest.fixture(scope="session")
def frame_index() -> Callable[[np.ndarray], int]:
    """The bar-code reader: which source frame an RGB image is."""
    return read_index
