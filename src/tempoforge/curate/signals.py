"""Per-frame signals from one low-resolution decode pass (DESIGN.md principle 5).

Every frame of the video is decoded once and resized by the decoder's swscale context to the analysis
size (``analysis_size``: the pixels of a ``analysis_width``-wide 16:9 frame), and reduced to a few numbers:

- ``change``: PySceneDetect's ``content_val`` with its default weights: the mean over the H, S and V
  planes (OpenCV 8-bit HSV) of the mean absolute difference to the previous frame; ``change[0] = 0``.
- ``grey_min`` / ``grey_max``: the grey level range (METHODS.md 1.1.1, "nearly constant" shots).
- ``sharpness``: mean ``|Laplacian(GaussianBlur3x3(grey))|`` (METHODS.md 1.1.6). Deviation: measured on the
  analysis frames, not full resolution; keyframes only need the *ranking* within a run.
- ``embed``: a small colour embedding, a 4x4x4 RGB histogram of the analysis frame's pixels taken on a
  grid about 48 wide (every ``w // 48``-th pixel), square-rooted (Hellinger) and L2-normalised.
- ``thumbs``: 48x27 RGB thumbnails (``area_resize``), TransNetV2's input (optional).

PySceneDetect's adaptive and content detectors run in the same pass, so a video is decoded exactly once;
their cut times are stored in ``cuts``. A detector with a ``next_score`` attribute
(``shots.scored_detector``) is handed ``change`` as its frame score instead of converting the frame to
HSV a second time. The table is cached as an ``.npz`` (no pickle) keyed by the settings that produced it.

``video_signals`` splits the work the way it parallelises: everything per frame (``frame_features``:
HSV, grey range, sharpness, thumbnail, embedding) runs in the decoder threads (``io.map_frames``; PyAV
and OpenCV release the GIL), and only the sequential part (the change to the previous frame, the
detectors' state) runs in the caller, in order.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tempoforge.io.jsonl import atomic_write_bytes

__all__ = [
    "FrameAnalyzer",
    "FrameFeatures",
    "SignalTable",
    "analysis_size",
    "area_resize",
    "compute_signals",
    "frame_features",
    "load_table",
    "save_table",
    "video_signals",
]

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
    """(w, h) of the analysis frames: at most as many pixels as a ``target_width``-wide 16:9 frame, aspect
    kept, never upscaled, even sides. A 16:9 video is ``target_width`` wide; a square or portrait one
    costs the same per frame instead of more (1280x720 -> 192x108; 224x224 -> 144x144)."""
    budget = target_width * round(target_width * 9 / 16)
    scale = min(1.0, math.sqrt(budget / (width * height)))
    w = max(2, round(width * scale) // 2 * 2)
    h = max(2, round(w * height / width / 2) * 2)
    return (w, h)


def colour_embedding(rgb: np.ndarray, bins: int = EMBED_BINS, bgr: bool = False) -> np.ndarray:
    """A ``bins**3`` RGB histogram, square-rooted and L2-normalised (cosine = Bhattacharyya coefficient).

    Cell ``(r // w, g // w, b // w)`` with ``w = 256 // bins`` is entry ``r' * bins**2 + g' * bins + b'``
    (also for a ``bgr`` image: the channels are read in R, G, B order).
    """
    import cv2

    img = np.ascontiguousarray(rgb.reshape(-1, 1, 3))
    hist = cv2.calcHist([img], [2, 1, 0] if bgr else [0, 1, 2], None, [bins] * 3, [0, 256] * 3).reshape(-1)
    hist = np.sqrt(hist)
    return hist / max(float(np.linalg.norm(hist)), 1e-12)


@dataclass
class FrameFeatures:
    """What one analysis frame contributes to the table, computed independently of every other frame
    (so decoder threads can compute it in parallel: ``frame_features``)."""

    hsv: np.ndarray  # uint8 (h, w, 3), kept only until the next frame's change is known
    grey_min: int
    grey_max: int
    sharpness: float
    embed: np.ndarray  # float32 (64,)
    thumb: np.ndarray | None  # uint8 (27, 48, 3) when thumbnails are kept


def frame_features(img: np.ndarray, keep_thumb: bool = False, bgr: bool = False) -> FrameFeatures:
    """The per-frame part of the signals of ``img`` (an analysis frame, RGB or with ``bgr`` BGR). The kept
    thumbnail is RGB either way."""
    import cv2

    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY if bgr else cv2.COLOR_RGB2GRAY)
    lap = cv2.Laplacian(cv2.GaussianBlur(grey, (3, 3), 0), cv2.CV_32F)
    grey_min, grey_max, _, _ = cv2.minMaxLoc(grey)
    step = max(1, img.shape[1] // THUMB_SIZE[0])  # a pixel grid ~48 wide: a histogram needs no more
    thumb = area_resize(img, THUMB_SIZE) if keep_thumb else None
    return FrameFeatures(
        hsv=cv2.cvtColor(img, cv2.COLOR_BGR2HSV if bgr else cv2.COLOR_RGB2HSV),
        grey_min=int(grey_min),
        grey_max=int(grey_max),
        sharpness=cv2.norm(lap, cv2.NORM_L1) / lap.size,  # mean |Laplacian|
        embed=colour_embedding(img[::step, ::step], bgr=bgr),
        thumb=None if thumb is None else np.ascontiguousarray(thumb[:, :, ::-1]) if bgr else thumb,
    )


class FrameAnalyzer:
    """Accumulates a ``SignalTable`` frame by frame, in order.

    ``push(t, rgb)`` analyses a frame here; ``push_features(t, frame_features(rgb))`` takes one analysed
    elsewhere (in a decoder thread) and does only the sequential part: the change to the previous frame
    and the shot detectors. ``detectors`` maps a name to a PySceneDetect ``SceneDetector`` (fed BGR frames
    and sequential frame numbers at the nominal ``fps``); their cuts are converted back to our exact frame
    times. A detector with a ``next_score`` attribute (``shots.scored_detector``) is handed ``change`` as
    its frame score and no frame.
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
        """Analyse the next frame (``rgb``, shown at ``t``)."""
        if self.size is not None:
            rgb = area_resize(rgb, self.size)
        self._push(t, frame_features(rgb, keep_thumb=self.keep_thumbs), rgb)

    def push_features(self, t: float, feats: FrameFeatures) -> None:
        """Add the next frame, already analysed (only score-fed detectors can see it: no pixels here)."""
        self._push(t, feats, None)

    def _push(self, t: float, feats: FrameFeatures, rgb: np.ndarray | None) -> None:
        import cv2

        rows = self._rows
        if self._prev_hsv is None:
            change = 0.0
        else:
            diff = cv2.absdiff(feats.hsv, self._prev_hsv)
            h_mean, s_mean, v_mean, _ = cv2.mean(diff)  # PySceneDetect: per-plane means, averaged
            change = (h_mean + s_mean + v_mean) / 3.0
        self._prev_hsv = feats.hsv
        rows["times"].append(t)
        rows["change"].append(change)
        rows["gmin"].append(feats.grey_min)
        rows["gmax"].append(feats.grey_max)
        rows["sharp"].append(feats.sharpness)
        rows["embed"].append(feats.embed)
        if self.keep_thumbs:
            if feats.thumb is None:
                raise ValueError("this analyzer keeps thumbnails: compute the features with keep_thumb=True")
            rows["thumbs"].append(feats.thumb)
        if self.detectors:
            from scenedetect import FrameTimecode

            tc = FrameTimecode(self._n, fps=self.fps)
            for name, det in self.detectors.items():
                if hasattr(det, "next_score"):
                    det.next_score = change
                    cuts = det.process_frame(tc, None)
                elif rgb is None:
                    raise ValueError(f"detector {name!r} needs the frames: use push(), or a scored detector")
                else:
                    cuts = det.process_frame(tc, rgb[:, :, ::-1])
                self._cut_frames[name].extend(c.frame_num for c in cuts)
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


def compute_signals(frames: Iterable[tuple[float, np.ndarray]], fps: float, *,
                    detectors: dict[str, Any] | None = None, keep_thumbs: bool = False,
                    size: tuple[int, int] | None = None, key: str = "") -> SignalTable:
    """Run one pass over ``frames`` (``(time, rgb uint8)`` pairs, resized to ``size=(w, h)`` if given)."""
    analyzer = FrameAnalyzer(fps, detectors, keep_thumbs, size)
    for t, rgb in frames:
        analyzer.push(t, rgb)
    return analyzer.finish(key)


def video_signals(path: str | Path, fps: float, size: tuple[int, int], *, detectors: dict[str, Any] | None = None,
                  keep_thumbs: bool = False, key: str = "", workers: int | None = None) -> SignalTable:
    """The signal table of a video from one decode pass at ``size``, the per-frame analysis done in the
    decoder threads (``io.map_frames``, on BGR frames: swscale's quicker output and OpenCV's order);
    ``detectors`` must be score-fed (``shots.scored_detector``)."""
    from functools import partial

    from tempoforge.io.dense import map_frames

    analyzer = FrameAnalyzer(fps, detectors, keep_thumbs)
    features = partial(frame_features, keep_thumb=keep_thumbs, bgr=True)
    with _opencv_single_threaded():
        for t, feats in map_frames(path, features, size=size, workers=workers, bgr=True):
            analyzer.push_features(t, feats)
    return analyzer.finish(key)


@contextmanager
def _opencv_single_threaded() -> Iterator[None]:
    """OpenCV's own thread pool off for the duration (a process-wide setting, restored afterwards).

    The decoder threads already keep every core busy; OpenCV splitting each small frame over its pool on
    top of that only adds hand-offs (measured on 2 cores: ~25% less CPU for the same pass).
    """
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


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

