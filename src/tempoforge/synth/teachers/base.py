"""The teacher protocol (TEMPURA's VER pipeline, METHODS.md 2.1) and the backend registry.

A teacher answers the four requests of the VER pipeline about one video:

- ``categorize``: one of the configured categories (the paper: Llama-3-72B over captions, 10 categories);
- ``segment``: events ``(start, end, description)`` from time-marked 1 fps frame grids (the paper: GPT-4o);
- ``coherence``: are the events causally related (step-by-step reasoning, then yes/no);
- ``masked_event``: given the other events as text, reasoning and a description of the masked one.

Backends (``TEACHERS``, imported lazily): ``oracle`` (TempoWorld ground truth), ``openai`` (any
OpenAI-compatible chat API with images), ``hf`` (a local VLM through ``tempoforge.models.load``).
A backend that cannot answer raises :class:`TeacherError` with a short ``code``; the pipeline rejects the
item with that code and reason, it never crashes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from tempoforge.errors import UserError

if TYPE_CHECKING:
    from tempoforge.records import Frames

__all__ = [
    "TEACHERS",
    "Category",
    "Coherence",
    "MaskedPrediction",
    "Teacher",
    "TeacherError",
    "TeacherEvent",
    "TeacherSettings",
    "TeacherVideo",
    "make_teacher",
]

Backend = Literal["oracle", "openai", "hf"]


class TeacherError(Exception):
    """A teacher could not give a usable answer (transport failure after retries, malformed reply...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TeacherEvent:
    """One event as a teacher states it (raw: may overlap, leave gaps or run past the end)."""

    start: float
    end: float
    description: str


@dataclass(frozen=True)
class Category:
    label: str
    reasoning: str = ""


@dataclass(frozen=True)
class Coherence:
    coherent: bool
    reasoning: str


@dataclass(frozen=True)
class MaskedPrediction:
    reasoning: str
    description: str


@dataclass
class TeacherVideo:
    """What a teacher may look at. ``frames`` / ``grids`` are decoded on first use (the oracle never does).

    ``frames_fn`` returns the 1 fps frames with their true times; ``grids_fn`` the time-marked frame-grid
    images (RGB arrays), see :mod:`tempoforge.synth.grids`.
    """

    id: str
    path: str
    duration: float
    frames_fn: Callable[[], Frames] | None = None
    grids_fn: Callable[[], list[np.ndarray]] | None = None
    captions: list[str] = field(default_factory=list)
    _frames: Frames | None = field(default=None, repr=False)
    _grids: list[np.ndarray] | None = field(default=None, repr=False)

    def frames(self) -> Frames:
        if self._frames is None:
            if self.frames_fn is None:
                raise TeacherError("no_frames", f"{self.id}: no frames available for the teacher")
            self._frames = self.frames_fn()
        return self._frames

    def grids(self) -> list[np.ndarray]:
        if self._grids is None:
            if self.grids_fn is None:
                raise TeacherError("no_frames", f"{self.id}: no frame grids available for the teacher")
            self._grids = self.grids_fn()
        return self._grids


class Teacher(Protocol):
    """The four VER requests. Implementations must be thread-safe if ``concurrent`` is True."""

    name: str
    concurrent: bool

    def categorize(self, video: TeacherVideo, categories: Sequence[str]) -> Category: ...

    def segment(self, video: TeacherVideo) -> list[TeacherEvent]: ...

    def coherence(self, video: TeacherVideo, events: Sequence[TeacherEvent]) -> Coherence: ...

    def masked_event(self, video: TeacherVideo, events: Sequence[TeacherEvent], masked: int) -> MaskedPrediction: ...


@dataclass
class TeacherSettings:
    """How to reach a teacher. The API key is read from the environment variable ``api_key_env`` only."""

    backend: Backend = field(default="oracle", metadata={"help": "teacher backend: oracle | openai | hf"})
    base_url: str = field(default="http://127.0.0.1:8000/v1", metadata={
        "help": "openai: base URL of the OpenAI-compatible API (vLLM, SGLang, Ollama, OpenAI)"})
    model: str = field(default="", metadata={"help": "openai: model name; hf: local checkpoint folder"})
    api_key_env: str | None = field(default=None, metadata={
        "help": "openai: NAME of the environment variable holding the API key (never the key itself)"})
    timeout: float = field(default=120.0, metadata={"help": "openai: seconds per HTTP request"})
    max_retries: int = field(default=5, metadata={"help": "openai: retries on 429 / 5xx / timeouts"})
    backoff: float = field(default=1.0, metadata={"help": "openai: first retry delay in seconds (doubles, with jitter)"})
    max_backoff: float = field(default=60.0, metadata={"help": "openai: longest retry delay, seconds (Retry-After capped too)"})
    concurrency: int = field(default=4, metadata={"help": "openai: requests in flight at once"})
    cache_dir: Path | None = field(default=None, metadata={
        "help": "openai: on-disk reply cache (default OUT/teacher_cache); a rerun costs nothing"})
    temperature: float = field(default=0.0, metadata={"help": "sampling temperature of the teacher"})
    max_tokens: int = field(default=1024, metadata={"help": "longest teacher reply in tokens"})
    image_detail: str = field(default="auto", metadata={"help": "openai: image_url detail (auto | low | high)"})
    hf_max_frames: int = field(default=32, metadata={"help": "hf: most frames shown to a local teacher"})
    device: str = field(default="cpu", metadata={"help": "hf: torch device of the local teacher"})

    def __post_init__(self) -> None:
        if self.backend not in ("oracle", "openai", "hf"):
            raise ValueError(f"backend must be oracle, openai or hf, got {self.backend!r}")
        if self.max_retries < 0 or self.concurrency < 1 or self.timeout <= 0:
            raise ValueError("need max_retries >= 0, concurrency >= 1 and timeout > 0")


TEACHERS: dict[str, str] = {
    "oracle": "tempoforge.synth.teachers.oracle:OracleTeacher",
    "openai": "tempoforge.synth.teachers.openai:OpenAITeacher",
    "hf": "tempoforge.synth.teachers.hf:HFTeacher",
}


def make_teacher(settings: TeacherSettings, **context: Any) -> Teacher:
    """Build the backend named by ``settings.backend``; ``context`` (e.g. ``world=``, ``cache_dir=``, ``lm=``)
    goes to its ``from_settings``."""
    if settings.backend not in TEACHERS:
        raise UserError(f"unknown teacher {settings.backend!r}; choose one of {', '.join(TEACHERS)}")
    module_name, cls_name = TEACHERS[settings.backend].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    teacher: Teacher = cls.from_settings(settings, **context)
    return teacher
