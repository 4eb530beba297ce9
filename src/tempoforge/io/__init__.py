"""Video and record I/O: exact-timestamp decoding on PyAV, atomic and crash-safe JSONL.

- ``probe(path) -> VideoInfo``: duration, fps (and whether it varies), frame count, size, rotation, codec.
- ``sample(path, fps=|num_frames=|times=, ...) -> Frames``: sparse, seek-planned decoding; every frame
  comes with its true presentation time.
- ``iter_frames(path, size=...)``: every frame in order, for dense signal passes (parallel decoders on
  keyframe-aligned chunks).
- ``write_video``: encode frames (TempoWorld, fixtures).
- ``read_jsonl`` / ``write_jsonl`` / ``append_jsonl``: records in and out, never half-written.
"""

from typing import TYPE_CHECKING

from tempoforge.lazy import lazy_exports

if TYPE_CHECKING:
    from tempoforge.io.convert import output_size
    from tempoforge.io.dense import iter_frames
    from tempoforge.io.encode import write_video
    from tempoforge.io.errors import VideoError
    from tempoforge.io.jsonl import JsonlError, append_jsonl, read_jsonl, write_jsonl
    from tempoforge.io.probe import probe
    from tempoforge.io.sample import sample

# each public name -> the module that defines it, imported on first use
# (so `tempoforge.io.commands` imports no PyAV)
_EXPORTS = {
    "output_size": "convert",
    "iter_frames": "dense",
    "write_video": "encode",
    "VideoError": "errors",
    "JsonlError": "jsonl",
    "append_jsonl": "jsonl",
    "read_jsonl": "jsonl",
    "write_jsonl": "jsonl",
    "probe": "probe",
    "sample": "sample",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)


def clear_caches() -> None:
    """Forget the per-process packet indexes and probes (benchmarks that must pay for them every round;
    a changed file is re-read anyway, the caches are keyed by modification time and size)."""
    from tempoforge.io.index import _cached_index
    from tempoforge.io.probe import _probe_cached

    _cached_index.cache_clear()
    _probe_cached.cache_clear()


__all__ = [
    "JsonlError",
    "VideoError",
    "append_jsonl",
    "clear_caches",
    "iter_frames",
    "output_size",
    "probe",
    "read_jsonl",
    "sample",
    "write_jsonl",
    "write_video",
]
