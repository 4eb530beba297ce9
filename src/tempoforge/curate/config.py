"""``CurateConfig``: every curation option in one dataclass (YAML presets in ``configs/curate/``).

The CLI flags of ``tempoforge curate`` are generated from these fields (DESIGN.md principle 6). Defaults
follow METHODS.md 1.1 (TEMPLE) where it gives numbers, PySceneDetect's defaults for its detectors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from tempoforge.curate.shots import DetectorParams

__all__ = ["STEP_NAMES", "TEMPLE_STEPS", "TEMPURA_STEPS", "CurateConfig"]

TEMPLE_STEPS = ["probe", "signals", "shots", "clean_shots", "shot_count", "group", "runs_filter", "keyframes"]
TEMPURA_STEPS = ["probe", "signals", "static", "shots", "saa", "grids"]
# the built-in steps (``registry.STEPS`` once ``curate.steps`` is imported; a test checks they agree)
STEP_NAMES = ("probe", "signals", "static", "shots", "clean_shots", "shot_count", "group", "runs_filter",
              "keyframes", "saa", "grids")


@dataclass
class CurateConfig:
    """Curation options. ``steps`` lists the registered steps to run, in order."""

    steps: list[str] = field(default_factory=lambda: list(TEMPLE_STEPS),
                             metadata={"choices": STEP_NAMES, "help": "curation steps to run, in order"})
    # signals
    analysis_width: int = field(default=192, metadata={"help": "size of the low-res decode pass: as many pixels as a 16:9 frame this wide (aspect kept)"})
    # shots
    detector: Literal["adaptive", "content", "transnetv2"] = field(
        default="adaptive", metadata={"help": "shot detector whose cuts define the shots"})
    also_detect: list[str] = field(default_factory=list, metadata={
        "choices": ("adaptive", "content", "transnetv2"), "help": "extra detectors to run for comparison (their cuts are stored in the record's 'cuts')"})
    adaptive_threshold: float = field(default=3.0, metadata={"help": "AdaptiveDetector: ratio of a frame's score to its neighbours'"})
    min_content_val: float = field(default=15.0, metadata={"help": "AdaptiveDetector: minimum content score for a cut"})
    content_threshold: float = field(default=27.0, metadata={"help": "ContentDetector: content score threshold"})
    min_scene_len: int = field(default=15, metadata={"help": "PySceneDetect: minimum frames between cuts"})
    transnet_threshold: float = field(default=0.5, metadata={"help": "TransNetV2: threshold on the transition probability"})
    transnet_device: str = field(default="auto", metadata={
        "help": "TransNetV2: torch device ('auto': the first CUDA GPU if there is one, else 'cpu'; or 'cpu', 'cuda:1')"})
    # TEMPLE shot cleaning and selection (METHODS.md 1.1)
    merge_below_frames: int = field(default=8, metadata={"help": "merge shots shorter than this many frames into a neighbour"})
    min_length_fps_factor: float = field(default=0.2, metadata={"help": "drop shots shorter than this * fps frames"})
    min_grey_range: float = field(default=10.0, metadata={"help": "drop nearly constant shots (median grey max-min below this)"})
    min_shots: int = field(default=4, metadata={"help": "keep videos with at least this many shots"})
    max_shots: int = field(default=32, metadata={"help": "keep videos with at most this many shots"})
    max_shot_seconds: float = field(default=16.0, metadata={"help": "drop videos with a shot longer than this (seconds)"})
    embed_model: str | None = field(default=None, metadata={
        "help": "local image-encoder folder (e.g. SigLIP) for shot embeddings; default: colour histograms"})
    group_threshold: float = field(default=0.8, metadata={"help": "cosine similarity above which shot clusters merge"})
    min_runs: int = field(default=4, metadata={"help": "drop videos with fewer runs"})
    max_group_runs: int = field(default=4, metadata={"help": "drop videos where a group recurs in this many runs or more"})
    keyframes_per_run: int = field(default=2, metadata={"help": "keyframes per run"})
    image_quality: int = field(default=95, metadata={"help": "JPEG quality of keyframe and grid images"})
    # TEMPURA static filter (METHODS.md 2.1)
    static_min_change: float = field(default=1.0, metadata={"help": "drop videos whose mean per-frame HSV change is below this (0-255 scale)"})
    # Tempo-R0 SAA (METHODS.md 4)
    saa_frames: int = field(default=32, metadata={"help": "frames to select by content change"})
    saa_floor: float = field(default=0.25, metadata={"help": "share of the mean change added to every frame (static stretches keep frames)"})
    # TEMPURA frame grids
    grid_fps: float = field(default=1.0, metadata={"help": "frames per second sampled into frame grids"})
    grid_tiles: int = field(default=16, metadata={"help": "frames per grid image"})
    grid_cols: int = field(default=4, metadata={"help": "columns per grid image"})
    grid_tile_width: int = field(default=256, metadata={"help": "width of one tile in pixels"})

    def __post_init__(self) -> None:
        for name in ("analysis_width", "min_shots", "max_shots", "keyframes_per_run", "saa_frames", "grid_tiles", "grid_cols"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.min_shots > self.max_shots:
            raise ValueError(f"min_shots ({self.min_shots}) > max_shots ({self.max_shots})")
        if self.grid_fps <= 0:
            raise ValueError(f"grid_fps must be > 0, got {self.grid_fps}")
        if self.transnet_device not in ("auto", "cpu") and not self.transnet_device.startswith("cuda"):
            raise ValueError(f"transnet_device must be 'auto', 'cpu' or 'cuda[:N]', got {self.transnet_device!r}")
        bad = [d for d in [self.detector, *self.also_detect] if d not in ("adaptive", "content", "transnetv2")]
        if bad:
            raise ValueError(f"unknown detector(s) {bad}; known: adaptive, content, transnetv2")

    def detector_params(self) -> DetectorParams:
        return DetectorParams(adaptive_threshold=self.adaptive_threshold, content_threshold=self.content_threshold,
                              min_content_val=self.min_content_val, min_scene_len=self.min_scene_len)

    def detectors(self) -> list[str]:
        """The main detector then the extra ones, without repeats."""
        return list(dict.fromkeys([self.detector, *self.also_detect]))

    def frame_detectors(self) -> list[str]:
        """Detectors that consume frames during the decode pass (PySceneDetect's)."""
        return [d for d in self.detectors() if d in ("adaptive", "content")]

    def signal_settings(self) -> dict[str, object]:
        """What determines the cached signal table (its cache key)."""
        frame_dets = self.frame_detectors()
        return {"v": 6, "width": self.analysis_width, "frame_detectors": frame_dets,
                "params": asdict(self.detector_params()) if frame_dets else None,
                "thumbs": "transnetv2" in self.detectors()}
