"""Options of ``tempoforge predict`` as a dataclass (flags and YAML presets are generated from it).

Kept free of heavy imports so that ``tempoforge --help`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tempoforge.eval.benchmarks import predict_names
from tempoforge.models.video import MAX_FRAMES, SELECTION_HELP, SELECTIONS, VideoSettings
from tempoforge.timestamps import STRATEGIES, strategy_help

__all__ = ["BENCHMARK_NAMES", "STRATEGY_NAMES", "PredictConfig"]

STRATEGY_NAMES: tuple[str, ...] = STRATEGIES  # the registered timestamp strategies (``tempoforge.timestamps``)
DEFAULT_BENCHMARK = "grounding"
# the names of the benchmark table that predict can write (the default first); ``eval score`` takes them all
BENCHMARK_NAMES: tuple[str, ...] = tuple(dict.fromkeys((DEFAULT_BENCHMARK, *predict_names())))


@dataclass
class PredictConfig:
    """Options of ``tempoforge predict`` (flags are generated from these fields)."""

    model: Path | None = field(default=None, metadata={"help": "local checkpoint directory (config.json + weights)"})
    benchmark: str = field(default=DEFAULT_BENCHMARK, metadata={
        "choices": BENCHMARK_NAMES,
        "help": "benchmark name (decides the prompt and the data record; written into every prediction, "
                "and `eval score --benchmark` takes the same names)"})
    data: Path | None = field(default=None, metadata={
        "help": "JSONL of GroundingSample or DenseCaptionSample records; video paths relative to its folder"})
    out: Path | None = field(default=None, metadata={"help": "predictions JSONL (appended; existing ids skipped)"})
    limit: int | None = field(default=None, metadata={"min": 1, "help": "only the first N samples of the data file"})
    batch_size: int = field(default=4, metadata={"min": 1, "help": "samples per generate call"})
    fps: float = field(default=1.0, metadata={"gt": 0, "help": "frames per second to sample"})
    max_frames: int = field(default=MAX_FRAMES, metadata={"min": 1,
        "help": "frame cap; a longer video is sampled more sparsely over its whole length (never truncated)"})
    timestamps: str = field(default="mrope", metadata={"choices": STRATEGY_NAMES, "help": strategy_help()})
    selection: str = field(default="uniform", metadata={"choices": SELECTIONS,
                                                        "help": SELECTION_HELP + "; use what the model was trained with"})
    saa_floor: float = field(default=0.25, metadata={"min": 0, "help": "SAA: share of the mean change added to every frame"})
    blank: bool = field(default=False, metadata={
        "help": "control: every frame mid-grey (times kept): what the model answers without seeing the video"})
    max_new_tokens: int = field(default=128, metadata={"min": 1, "help": "generation length cap"})
    max_pixels: int | None = field(default=None, metadata={"min": 1, "help": "per-frame pixel cap (default: the checkpoint's)"})
    duration_in_prompt: bool = field(default=False, metadata={"help": "prefix prompts with the video duration"})
    dtype: str = field(default="auto", metadata={"choices": ("auto", "float32", "bfloat16", "float16"),
                                                 "help": "weights' dtype"})
    device: str = field(default="cpu", metadata={"help": "torch device (cpu, cuda:0) or auto to shard over GPUs"})
    attn_implementation: str | None = field(default=None, metadata={"help": "sdpa, eager, flash_attention_2"})
    adapter: Path | None = field(default=None, metadata={"help": "PEFT adapter directory applied on the model"})
    trust_remote_code: bool = field(default=False, metadata={"help": "allow code from the checkpoint (off)"})

    def video_settings(self) -> VideoSettings:
        """How prediction turns each video into model inputs: the training path (``models.video``) with these
        flags (a bad ``selection`` fails here, once)."""
        return VideoSettings(fps=self.fps, max_frames=self.max_frames, max_pixels=self.max_pixels,
                             timestamps=self.timestamps, selection=self.selection, saa_floor=self.saa_floor,
                             blank=self.blank)
