"""How a run turns a video into model inputs: ``VideoSettings``, torch-free (``train METHOD --help`` reads it).

Recorded in every checkpoint's ``tempoforge_train.json``; ``train.data.load_frames`` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tempoforge.config import renamed_fields
from tempoforge.timestamps import STRATEGIES, strategy_help

__all__ = ["VideoSettings"]


@renamed_fields(strategy="timestamps")
@dataclass
class VideoSettings:
    """How a run turns a video into model inputs."""

    fps: float = field(default=1.0, metadata={"gt": 0, "help": "frames per second sampled from each video"})
    max_frames: int = field(default=16, metadata={"min": 1, "help": "frame cap, spread over the whole video"})
    max_pixels: int | None = field(default=None, metadata={"min": 1,
        "help": "per-frame pixel cap: frames are decoded and tensorized at most this large (as predict's "
                "max_pixels), so the checkpoint's video_min_pixels cannot enlarge them"})
    timestamps: str = field(default="mrope", metadata={"choices": STRATEGIES, "help": strategy_help()})
    selection: str = field(default="uniform", metadata={"choices": ("uniform", "saa"),
                                                        "help": "frame selection: uniform (fps, capped) | saa "
                                                                "(Tempo-R0: the same budget spent where the "
                                                                "content changes, true times kept)"})
    saa_floor: float = field(default=0.25, metadata={"help": "SAA: share of the mean change added to every "
                                                             "frame so static stretches keep frames"})
    blank: bool = field(default=False, metadata={"help": "control: every frame mid-grey (times kept), so a score "
                                                         "shows what the model answers without seeing the video"})

    def __post_init__(self) -> None:
        if self.selection not in ("uniform", "saa"):
            raise ValueError(f"unknown frame selection {self.selection!r}; choose uniform or saa")
