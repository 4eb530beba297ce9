"""Per-frame signals from one low-resolution decode pass (DESIGN.md principle 5).

Every frame of the video is decoded once (``tempoforge.io.iter_frames``), resized to the analysis size
(``area_resize``: OpenCV area resampling by an integer factor, then a small area resize; OpenCV's area
resize by a non-integer factor costs ~4 ms per 720p frame, swscale's ~2 ms), and reduced to a few numbers:

- ``change``: PySceneDetect's ``content_val`` with its default weights: the mean over the H, S and V
  planes (OpenCV 8-bit HSV) of the mean absolute difference to the previous frame; ``change[0] = 0``.
- ``grey_min`` / ``grey_max``: the grey level range (METHODS.md 1.1.1, "nearly constant" shots).
- ``sharpness``: mean ``|Laplacian(GaussianBlur3x3(grey))|`` (METHODS.md 1.1.6). Deviation: measured on the
  analysis frames, not full resolution; keyframes only need the *ranking* within a run.
- ``embed``: a small colour embedding, a 4x4x4 RGB histogram of the 48x27 thumbnail, square-rooted
  (Hellinger) and L2-normalised.
- ``thumbs``: 48x27 RGB thumbnails, TransNetV2's input (optional).

Frame-consuming shot detectors (PySceneDetect's adaptive and content detectors) are fed the same decoded
frames in the same pass, so a video is decoded exactly once; their cut times are stored in ``cuts``.
The table is cached as an ``.npz`` (no pickle) keyed by the settings that produced it.

Decoding and resizing run in a background thread (``prefetch``) while the main thread computes the
signals: PyAV and OpenCV release the GIL, so on two cores the two halves overlap, as PySceneDetect's own
decode thread does.
"""

from __future__ import annotations

import hashlib
import io
import json
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tempoforge.io.jsonl import atomic_write_bytes

__all__ = ["FrameAnalyzer", "SignalTable", "analysis_size", "area_resize", "compute_signals", "load_table", "prefetch", "save_table"]

THUMB_SIZE = (48, 27)  # TransNetV2 input (w, h)
EMBED_BINS = 4


@dataclass
class SignalTable:
    """The per-frame signals of one video; row ``i`` describes the frame shown at ``times[i]``."""

    times: np.ndarray  # float64 (N,)
    change: np.ndarray  # float32 (N,)
    grey_min: np.ndarray  # uint8 (N,)
    grey_max: np.ndarray  # uint8 (N,)
    sharpness: np.ndarray  # float32 (N,)
    embed: np.ndarray  # float32 (N, 64)
    thumbs: np.ndarray | None = None  # uint8 (N, 27, 48, 3)
    cuts: dict[str, np.ndarray] = field(default_factory=dict)  # detector -> cut times (first frame after)
    fps: float = 0.0
    duration: float = 0.0  # end of the last frame
    key: str = ""

    def __len__(self) -> int:
        return len(self.times)

    def index_at(self, t: float) -> int:
        """Index of the frame on screen at time ``t``."""
        return max(0, int(np.searchsorted(self.times, t + 1e-9, side="right")) - 1)


def analysis_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """(w, h) of the analysis frames: ``target_width`` wide (never upscaled), aspect kept, even sizes."""
    w = min(target_width, width)
    h = max(2, round(w * height / width / 2) * 2)
    return (max(2, w - w % 2), h)


def colour_embedding(rgb: np.ndarray, bins: int = EMBED_BINS) -> np.ndarray:
    """A ``bins**3`` RGB histogram, square-rooted and L2-normalised (cosine = Bhattacharyya coefficient)."""
    q = (rgb.reshape(-1, 3) // (256 // bins)).astype(np.int64)
    hist = np.bincount(q[:, 0] * bins * bins + q[:, 1] * bins + q[:, 2], minlength=bins**3).astype(np.float32)
    hist = np.sqrt(hist)
    return hist / max(float(np.linalg.norm(hist)), 1e-12)


class FrameAnalyzer:
    """Consumes ``(time, rgb)`` frames one by one and accumulates a ``SignalTable``.

    ``detectors`` maps a name to a PySceneDetect ``SceneDetector`` (fed BGR frames and sequential frame
    numbers at the nominal ``fps``); their cuts are converted back to our exact frame times.
    """

    def __init__(self, fps: float, detectors: dict[str, Any] | None = None, keep_thumbs: bool = False,
                 size: tuple[int, int] | None = None) -> None:
        self.fps = fps
        self.size = size
        self.detectors = detectors or {}
        self.keep_thumbs = keep_thumbs
        self._rows: dict[str, list[Any]] = {k: [] for k in ("times", "change", "gmin", "gmax", "sharp", "embed", "thumbs")}
        self._cut_frames: dict[str, list[int]] = {k: [] for k in self.detectors}
        self._prev_hsv: np.ndarray | None = None
        self._n = 0

    def push(self, t: float, rgb: np.ndarray) -> None:
        import cv2

        rows = self._rows
        if self.size is not None:
            rgb = area_resize(rgb, self.size)
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        if self._prev_hsv is None:
            change = 0.0
        else:
            diff = cv2.absdiff(hsv, self._prev_hsv)
            change = float(diff.mean())  # = mean of the per-plane means (equal plane sizes)
        self._prev_hsv = hsv
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        lap = cv2.Laplacian(cv2.GaussianBlur(grey, (3, 3), 0), cv2.CV_32F)
        rows["times"].append(t)
        rows["change"].append(change)
        rows["gmin"].append(int(grey.min()))
        rows["gmax"].append(int(grey.max()))
        rows["sharp"].append(float(np.abs(lap).mean()))
        thumb = cv2.resize(rgb, THUMB_SIZE, interpolation=cv2.INTER_AREA)
        rows["embed"].append(colour_embedding(thumb))
        if self.keep_thumbs:
            rows["thumbs"].append(thumb)
        if self.detectors:
            from scenedetect import FrameTimecode

            bgr = rgb[:, :, ::-1]
            tc = FrameTimecode(self._n, fps=self.fps)
            for name, det in self.detectors.items():
                self._cut_frames[name].extend(c.frame_num for c in det.process_frame(tc, bgr))
        self._n += 1

    def finish(self, key: str = "") -> SignalTable:
        from scenedetect import FrameTimecode

        rows = self._rows
        times = np.asarray(rows["times"], dtype=np.float64)
        n = len(times)
        if n and self.detectors:
            last = FrameTimecode(n - 1, fps=self.fps)
            for name, det in self.detectors.items():
                self._cut_frames[name].extend(c.frame_num for c in det.post_process(last))
        cuts = {
            name: times[np.unique(np.asarray([f for f in frames if 0 < f < n], dtype=np.int64))]
            for name, frames in self._cut_frames.items()
        }
        step = float(np.median(np.diff(times))) if n > 1 else 1.0 / self.fps
        return SignalTable(
            times=times,
            change=np.asarray(rows["change"], dtype=np.float32),
            grey_min=np.asarray(rows["gmin"], dtype=np.uint8),
            grey_max=np.asarray(rows["gmax"], dtype=np.uint8),
            sharpness=np.asarray(rows["sharp"], dtype=np.float32),
            embed=np.asarray(rows["embed"], dtype=np.float32).reshape(n, EMBED_BINS**3),
            thumbs=np.asarray(rows["thumbs"], dtype=np.uint8).reshape(n, THUMB_SIZE[1], THUMB_SIZE[0], 3)
            if self.keep_thumbs else None,
            cuts=cuts,
            fps=self.fps,
            duration=float(times[-1] + step) if n else 0.0,
            key=key,
        )


_END = object()


def area_resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-resample ``rgb`` to ``size=(w, h)``: first by the largest integer factor that keeps the image
    at least ``size`` (OpenCV's fast path; up to ``k - 1`` edge pixels are cropped), then to ``size``."""
    import cv2

    h, w = rgb.shape[:2]
    if (w, h) == size:
        return rgb
    k = max(1, min(w // size[0], h // size[1]))
    if k > 1:
        rgb = cv2.resize(rgb[: h - h % k, : w - w % k], ((w - w % k) // k, (h - h % k) // k),
                         interpolation=cv2.INTER_AREA)
    if (rgb.shape[1], rgb.shape[0]) != size:
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return rgb


def prefetch(frames: Iterable[tuple[float, np.ndarray]], size: tuple[int, int] | None = None,
             depth: int = 16) -> Iterator[tuple[float, np.ndarray]]:
    """Iterate ``frames`` in a background thread (resized to ``size`` there), ``depth`` frames ahead.

    An exception raised by the producer (e.g. ``VideoError`` on corrupt data) is re-raised here, after
    the frames decoded before it.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for t, rgb in frames:
                if size is not None:
                    rgb = area_resize(rgb, size)
                while not stop.is_set():
                    try:
                        q.put((t, rgb), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_END)
        except BaseException as exc:  # handed to the consumer
            q.put(exc)

    worker = threading.Thread(target=produce, name="tempoforge-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


def compute_signals(frames: Iterable[tuple[float, np.ndarray]], fps: float, *,
                    detectors: dict[str, Any] | None = None, keep_thumbs: bool = False,
                    size: tuple[int, int] | None = None, key: str = "") -> SignalTable:
    """Run one pass over ``frames`` (``(time, rgb uint8)`` pairs, resized to ``size=(w, h)`` if given)."""
    analyzer = FrameAnalyzer(fps, detectors, keep_thumbs, size)
    for t, rgb in frames:
        analyzer.push(t, rgb)
    return analyzer.finish(key)


def table_key(settings: dict[str, Any]) -> str:
    """A short stable hash of the settings that determine a table (cache invalidation)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def save_table(path: Path, table: SignalTable) -> None:
    """Write ``table`` as a compressed ``.npz`` atomically (safe format: arrays and a JSON string)."""
    arrays: dict[str, np.ndarray] = {
        "times": table.times, "change": table.change, "grey_min": table.grey_min, "grey_max": table.grey_max,
        "sharpness": table.sharpness, "embed": table.embed,
    }
    if table.thumbs is not None:
        arrays["thumbs"] = table.thumbs
    for name, cuts in table.cuts.items():
        arrays[f"cuts__{name}"] = cuts
    meta = {"fps": table.fps, "duration": table.duration, "key": table.key}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
    atomic_write_bytes(path, buf.getvalue())


def load_table(path: Path, key: str | None = None) -> SignalTable | None:
    """Read a cached table; ``None`` if missing, unreadable or computed with other settings (``key``)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            if key is not None and meta.get("key") != key:
                return None
            return SignalTable(
                times=z["times"], change=z["change"], grey_min=z["grey_min"], grey_max=z["grey_max"],
                sharpness=z["sharpness"], embed=z["embed"], thumbs=z["thumbs"] if "thumbs" in z.files else None,
                cuts={k.removeprefix("cuts__"): z[k] for k in z.files if k.startswith("cuts__")},
                fps=float(meta["fps"]), duration=float(meta["duration"]), key=str(meta.get("key", "")),
            )
    except (OSError, ValueError, KeyError):
        return None

