"""Teachers for synthetic data (TEMPURA's VER pipeline; TEMPLE's captions): ``oracle``, ``openai``, ``hf``.

``base`` (protocol, records, settings, ``make_teacher``), ``chat`` (prompts and reply parsing shared by the
chat backends), ``openai`` (HTTP, retries, concurrency limit), ``cache`` (on-disk reply cache), ``hf``
(local VLM), ``oracle`` (TempoWorld ground truth). Backends are imported on first use.
"""

from tempoforge.synth.teachers.base import (
    TEACHERS,
    Category,
    Coherence,
    MaskedPrediction,
    Teacher,
    TeacherError,
    TeacherEvent,
    TeacherSettings,
    TeacherVideo,
    make_teacher,
)

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
