"""tempoforge: make video LLMs understand time.

Stages (one sub-package each): ``io`` (exact-timestamp video decoding, JSONL), ``world`` (TempoWorld
synthetic videos with exact ground truth), ``curate``, ``synth``, ``models``, ``train``, ``eval``.
Shared pieces: ``records`` (typed records), ``timecode`` (the only place time is converted),
``config`` (dataclass configs and YAML presets).
"""

__version__ = "0.1.0"
