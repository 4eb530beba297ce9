"""Decode benchmark: tempoforge's sampler vs naive PyAV vs decord, in one run, with frame-time checks.

A 10-minute 1280x720 H.264 video (25 fps, libx264 preset veryfast: B-frames, a keyframe every 250 frames =
10 s, like most encoders' defaults) is generated once into ``benchmarks/.cache``. Two jobs:

  (a) 32 frames spread uniformly over the video;
  (b) 1 fps over the whole video (600 frames).

Contenders: ``tempoforge.io.sample``; naive PyAV (threaded decode of every frame, converting only the wanted
ones); decord ``VideoReader.get_batch``. Each returns full-resolution RGB frames. "times ok" says whether the
contender reports the true presentation time of every returned frame (decord's ``get_frame_timestamp``;
tempoforge's ``Frames.times``; PyAV's frame pts), checked against the generator's ``i / 25``.

    python benchmarks/decode.py [--minutes 10] [--repeats 1]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import numpy as np

from tempoforge.io import clear_caches, sample

CACHE = Path(__file__).resolve().parent / ".cache"
FPS = 25


def make_video(minutes: float) -> Path:
    path = CACHE / f"bench_720p_{minutes:g}min_veryfast.mp4"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    n = int(minutes * 60 * FPS)
    w, h = 1280, 720
    yy, xx = np.mgrid[0:h, 0:w]
    base = ((xx // 40 + yy // 40) % 2 * 40).astype(np.uint8)
    tmp = path.with_suffix(".partial.mp4")
    print(f"generating {n} frames of {w}x{h} (once) ...", flush=True)
    with av.open(str(tmp), "w") as c:
        # veryfast: a typical H.264 stream (B-frames, a keyframe every 250 frames = 10 s) that encodes in minutes
        s = c.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "23"})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.codec_context.gop_size = 250
        s.codec_context.max_b_frames = 3  # FFmpeg's default of 0 would switch x264's B-frames off
        for i in range(n):
            img = np.empty((h, w, 3), np.uint8)
            img[..., 0] = base + (i % 200)
            img[..., 1] = (xx + 3 * i) % 256 // 2
            img[..., 2] = (yy + i) % 256 // 2
            x0 = (i * 7) % (w - 200)
            img[300:500, x0:x0 + 200] = (255, 255 - i % 256, 0)
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    tmp.rename(path)
    return path


def wanted_times(duration: float, job: str) -> np.ndarray:
    if job == "32 uniform":
        return (np.arange(32) + 0.5) * duration / 32
    return np.arange(0.0, duration, 1.0)


def truth(times: np.ndarray) -> np.ndarray:
    """Time of the frame nearest each wanted time (frames at i / FPS; ties to the earlier one)."""
    idx = np.ceil(times * FPS - 0.5).astype(int)
    return idx / FPS


def run_tempoforge(path: Path, times: np.ndarray) -> tuple[int, np.ndarray]:
    clear_caches()  # pay for the packet index every time, as a first call on a new video does
    frames = sample(path, times=times.tolist())
    return len(frames), frames.times


def run_naive_pyav(path: Path, times: np.ndarray) -> tuple[int, np.ndarray]:
    want = set(np.ceil(times * FPS - 0.5).astype(int).tolist())
    out, got = [], []
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        tb = float(s.time_base)
        for f in c.decode(s):
            i = round(f.pts * tb * FPS)
            if i in want:
                out.append(f.to_ndarray(format="rgb24"))
                got.append(f.pts * tb)
    return len(out), np.asarray(got)


def run_decord(path: Path, times: np.ndarray) -> tuple[int, np.ndarray]:
    import decord

    vr = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=2)
    idx = np.ceil(times * FPS - 0.5).astype(int).tolist()
    batch = vr.get_batch(idx).asnumpy()
    ts = vr.get_frame_timestamp(idx)[:, 0]
    return len(batch), np.asarray(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    path = make_video(args.minutes)
    duration = args.minutes * 60
    contenders = {"naive PyAV": run_naive_pyav}
    try:
        import decord  # noqa: F401

        contenders["decord"] = run_decord
    except ImportError:
        print("decord not installed: skipping it (pip install decord)")
    contenders["tempoforge"] = run_tempoforge
    print(f"video: {path.name}, {duration:.0f} s at {FPS} fps, 1280x720 H.264 (B-frames, keyframe every 10 s)\n")
    print(f"{'job':<12} {'contender':<12} {'frames':>6} {'seconds':>8} {'vs naive':>9} {'vs decord':>9}  times ok")
    for job in ("32 uniform", "1 fps"):
        times = wanted_times(duration, job)
        expected = truth(times)
        results: dict[str, float] = {}
        for name, fn in contenders.items():
            best = float("inf")
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                n, got = fn(path, times)
                best = min(best, time.perf_counter() - t0)
            results[name] = best
            ok = n == len(expected) and np.allclose(np.sort(got), np.sort(expected), atol=1e-3)
            vs_naive = results.get("naive PyAV")
            vs_decord = results.get("decord")
            r1 = f"{vs_naive / best:8.1f}x" if vs_naive and name != "naive PyAV" else f"{'':>9}"
            r2 = f"{vs_decord / best:8.1f}x" if vs_decord and name != "decord" else f"{'':>9}"
            print(f"{job:<12} {name:<12} {n:>6} {best:>8.2f} {r1} {r2}  {ok}", flush=True)
        tf = results["tempoforge"]
        line = f"  -> tempoforge is {results['naive PyAV'] / tf:.1f}x naive PyAV"
        if "decord" in results:
            line += f", {results['decord'] / tf:.2f}x decord"
        print(line + " (higher = faster)\n")


if __name__ == "__main__":
    main()
