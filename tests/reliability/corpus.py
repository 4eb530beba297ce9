"""A corpus of bad videos, generated in code at test time (nothing large is committed).

Each entry is written by PyAV or by cutting / patching the bytes of a valid file:

- ``empty.mp4``: 0 bytes; ``text.mp4``: a text file named like a video;
- ``truncated_noindex.mp4``: a 4 s MP4 (index at the end, the default) cut to 55 % of its bytes: the
  index (moov atom) is lost;
- ``truncated_index.mp4``: the same with the index at the front (``movflags=faststart``), cut to 55 %: the
  index promises 4 s, the data holds about 2 s;
- ``truncated.mkv``: a 4 s Matroska cut to 55 % (no index needed to read the part that is left);
- ``audio_only.m4a``-like ``audio_only.mp4``: one AAC stream, no video;
- ``zero_frames.mkv``: a container with a video stream and not a single frame;
- ``huge_dims.mkv``: Motion-JPEG whose every frame header (SOF0) declares 16000x16000 pixels (inside
  FFmpeg's own size limit, so a decoder would try to allocate ~768 MB per RGB frame) over 96x64 data;
- ``huge_header.mkv``: a 320x256 H.264 Matroska whose container header (PixelWidth / PixelHeight) declares
  65520x65520 (the H.264 SPS is left alone: patching it would change the length of its exp-Golomb fields
  and with it every enclosing size field);
- ``odd_size.mkv`` (97x63, H.264 4:4:4) and ``one_pixel.mkv`` (1x1, FFV1): sizes no 4:2:0 codec takes;
- ``size_change.ts``: two MPEG-TS segments byte-concatenated, 96x64 for 2 s then 128x96 for 2 s;
- ``rotated.mp4``: display rotation 90 degrees; ``vfr.mkv``: frame intervals alternating 20 and 100 ms;
- ``good.mp4``: a valid 4 s clip, the control.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = ["BAD_VIDEOS", "make_corpus"]

BAD_VIDEOS = (
    "empty.mp4", "text.mp4", "truncated_noindex.mp4", "truncated_index.mp4", "truncated.mkv", "audio_only.mp4",
    "zero_frames.mkv", "huge_dims.mkv", "huge_header.mkv", "odd_size.mkv", "one_pixel.mkv", "size_change.ts",
    "rotated.mp4", "vfr.mkv",
)


def _frame(i: int, w: int, h: int) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = (i * 23) % 256
    img[: max(1, h // 2), : max(1, (i * 7) % w + 1), 1] = 255
    return img


def _encode(path: Path, pts: list[int], time_base: Fraction, *, size: tuple[int, int] = (96, 64),
            codec: str = "libx264", pix_fmt: str = "yuv420p", rotation: int = 0,
            container_options: dict[str, str] | None = None) -> Path:
    w, h = size
    with av.open(str(path), "w", options=container_options or {}) as c:
        s = c.add_stream(codec, rate=Fraction(25))
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        s.time_base = time_base
        s.codec_context.time_base = time_base
        if rotation:
            s.set_display_rotation(rotation)
        for i, p in enumerate(pts):
            f = av.VideoFrame.from_ndarray(_frame(i, w, h), format="rgb24")
            f.pts, f.time_base = p, time_base
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


def _cut(src: Path, dst: Path, share: float) -> None:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * share)])


def _audio_only(path: Path) -> None:
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=16000)
        s.layout = "mono"
        samples = (np.sin(np.linspace(0, 200, 16000)) * 0.3).astype(np.float32)[None, :]
        for k in range(0, 16000, 1024):
            f = av.AudioFrame.from_ndarray(samples[:, k:k + 1024], format="fltp", layout="mono")
            f.sample_rate, f.pts = 16000, k
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)


def _zero_frames(path: Path) -> None:
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=Fraction(25))
        s.width, s.height, s.pix_fmt = 96, 64, "yuv420p"
        c.start_encoding()  # the header, with the stream, and not one packet


def _huge_dims(path: Path, tmp: Path) -> None:
    src = _encode(tmp, list(range(10)), Fraction(1, 25), codec="mjpeg", pix_fmt="yuvj420p")
    data = bytearray(src.read_bytes())
    sof = b"\xff\xc0\x00\x11\x08"  # SOF0, length 17, 8 bits; then height and width, 2 bytes each
    at, patched = data.find(sof), 0
    while at >= 0:
        data[at + 5:at + 9] = (16000).to_bytes(2, "big") * 2
        patched += 1
        at = data.find(sof, at + 1)
    assert patched == 10, patched
    path.write_bytes(bytes(data))
    tmp.unlink()


def _size_change(path: Path, tmp: Path) -> None:
    a = _encode(tmp.with_name("a.ts"), list(range(50)), Fraction(1, 25), container_options={})
    b = _encode(tmp.with_name("b.ts"), list(range(50, 100)), Fraction(1, 25), size=(128, 96))
    path.write_bytes(a.read_bytes() + b.read_bytes())
    a.unlink()
    b.unlink()


def _huge_header(path: Path, tmp: Path) -> None:
    src = _encode(tmp, list(range(25)), Fraction(1, 25), size=(320, 256))
    data = bytearray(src.read_bytes())
    # EBML: PixelWidth (0xB0) and PixelHeight (0xBA), each with a 2-byte value: 0x0140 = 320, 0x0100 = 256
    for element, value in ((b"\xb0\x82\x01\x40", b"\xb0\x82\xff\xf0"), (b"\xba\x82\x01\x00", b"\xba\x82\xff\xf0")):
        at = data.find(element)
        assert at >= 0, f"{element!r} not found in the Matroska header"
        data[at:at + 4] = value
    path.write_bytes(bytes(data))
    tmp.unlink()


def make_corpus(folder: Path) -> dict[str, Path]:
    """Write every video of :data:`BAD_VIDEOS` and ``good.mp4`` into ``folder``; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder.parent / f"{folder.name}-scratch"
    scratch.mkdir(exist_ok=True)
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "text.mp4").write_text("this is not a video\n" * 20)
    hundred = list(range(100))  # 4 s at 25 fps
    full = _encode(scratch / "full.mp4", hundred, Fraction(1, 25))
    _cut(full, folder / "truncated_noindex.mp4", 0.55)
    faststart = _encode(scratch / "faststart.mp4", hundred, Fraction(1, 25), container_options={"movflags": "faststart"})
    _cut(faststart, folder / "truncated_index.mp4", 0.55)
    _cut(_encode(scratch / "full.mkv", hundred, Fraction(1, 25)), folder / "truncated.mkv", 0.55)
    _audio_only(folder / "audio_only.mp4")
    _zero_frames(folder / "zero_frames.mkv")
    _huge_dims(folder / "huge_dims.mkv", scratch / "mjpeg.mkv")
    _huge_header(folder / "huge_header.mkv", scratch / "plain.mkv")
    _size_change(folder / "size_change.ts", scratch / "segment.ts")
    _encode(folder / "odd_size.mkv", hundred, Fraction(1, 25), size=(97, 63), pix_fmt="yuv444p")
    _encode(folder / "one_pixel.mkv", list(range(25)), Fraction(1, 25), size=(1, 1), codec="ffv1", pix_fmt="yuv444p")
    _encode(folder / "rotated.mp4", hundred, Fraction(1, 25), rotation=90)
    vfr, t = [], 0
    for i in range(60):
        vfr.append(t)
        t += 20 if i % 2 == 0 else 100
    _encode(folder / "vfr.mkv", vfr, Fraction(1, 1000))
    _encode(folder / "good.mp4", hundred, Fraction(1, 25))
    for p in scratch.iterdir():
        p.unlink()
    scratch.rmdir()
    return {p.name: p for p in sorted(folder.iterdir())}
