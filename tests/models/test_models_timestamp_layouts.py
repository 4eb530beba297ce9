"""Every built-in timestamp strategy builds exactly the inputs it built before the strategy registry.

``snapshots/timestamp_layouts.json`` was recorded with the if-branches over strategy names that
``models/inputs.py`` had before the registry (commit fc73cb8), by running :func:`record` below on that code
(``python tests/models/test_models_timestamp_layouts.py OUT.json``). For every family x strategy x case it
holds the token ids, M-RoPE position ids and token types (sha256 of their int64 bytes), the prompt text with
runs of vision pads collapsed (readable when a layout changes), the vision grids, ``second_per_grid_ts``, the
segments, the warnings and pixel checksums. A change here is a change of what the model sees.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

SNAPSHOT = Path(__file__).parent / "snapshots" / "timestamp_layouts.json"
BUILT_IN = ("mrope", "text", "overlay", "frames-as-images")
FAMILIES = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")
# 5 frames at uneven times (the last temporal patch is padded); the second case masks a span (overlay leaves
# those frames black without a time), the third is a clip at 10 s with absolute M-RoPE time (origin 0), the
# fourth is sampled faster than time-aware M-RoPE resolves (a warning)
TIMES = [0.0, 0.5, 1.25, 2.0, 3.5]
CASES: dict[str, dict[str, Any]] = {
    "plain": {"offset": 0.0, "scale": 1.0, "kwargs": {}},
    "masked": {"offset": 0.0, "scale": 1.0, "kwargs": {"masked_spans": [(0.4, 1.5)]}},
    "origin": {"offset": 10.0, "scale": 1.0, "kwargs": {"time_origin": 0.0}},
    "dense": {"offset": 0.0, "scale": 0.2, "kwargs": {}},
}


def frames_for(case: str) -> Any:
    from tempoforge.records import Frames

    data = np.random.default_rng(7).integers(0, 256, (len(TIMES), 60, 84, 3), dtype=np.uint8)
    return Frames(data, np.asarray(TIMES) * CASES[case]["scale"] + CASES[case]["offset"])


def _sha(t: Any) -> str:
    return hashlib.sha256(t.to("cpu").long().contiguous().numpy().tobytes()).hexdigest()[:16]


def _collapsed(lm: Any, ids: Any) -> str:
    text = lm.tokenizer.decode(ids.tolist())
    return re.sub(r"((<\|(?:video|image)_pad\|>))\1*", lambda m: f"{m.group(2)}*{len(m.group(0)) // len(m.group(2))}",
                  text)


def record(lm: Any, strategy: str, case: str) -> dict[str, Any]:
    """What the model sees for one family x strategy x case (the fields listed in the module docstring)."""
    from tempoforge.models.inputs import build_example

    ex = build_example(lm, "When does the square move?", frames_for(case), strategy, answer="From 1.0 to 2.0.",
                       **CASES[case]["kwargs"])

    def grid(t: Any) -> Any:
        return None if t is None else t.tolist()

    def pixels(t: Any) -> Any:
        return None if t is None else [list(t.shape), float(t.double().sum()), float(t.double().abs().mean())]

    return {
        "length": len(ex.input_ids), "prompt_length": ex.prompt_length,
        "input_ids": _sha(ex.input_ids), "position_ids": _sha(ex.position_ids),
        "mm_token_type_ids": _sha(ex.mm_token_type_ids), "labels": _sha(ex.labels),
        "text": _collapsed(lm, ex.input_ids),
        "video_grid_thw": grid(ex.video_grid_thw), "image_grid_thw": grid(ex.image_grid_thw),
        "second_per_grid_ts": ex.second_per_grid_ts,
        "segments": [[s.modality, list(s.grid), list(s.temporal_offsets), [round(x, 6) for x in s.times]]
                     for s in ex.segments],
        "frame_times": ex.frame_times, "warnings": ex.warnings,
        "pixel_values_videos": pixels(ex.pixel_values_videos), "pixel_values": pixels(ex.pixel_values),
    }


def _close(got: Any, want: Any) -> bool:
    if isinstance(want, float):
        return isinstance(got, float) and abs(got - want) <= 1e-5 * max(1.0, abs(want))
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(_close, got, want))
    return bool(got == want)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("strategy", BUILT_IN)
def test_built_in_strategies_build_what_they_built_before_the_registry(tiny_models: dict, family: str,
                                                                       strategy: str) -> None:
    snapshot = json.loads(SNAPSHOT.read_text())
    for case in CASES:
        want = snapshot[f"{family}/{strategy}/{case}"]
        got = record(tiny_models[family], strategy, case)
        for key in want:
            assert _close(got[key], want[key]), (family, strategy, case, key, got[key], want[key])


if __name__ == "__main__":  # record the snapshot: python tests/models/test_models_timestamp_layouts.py OUT.json
    import tempfile

    from tempoforge.models.load import load
    from tempoforge.models.tiny import build_tiny

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fam in FAMILIES:
            build_tiny(fam, Path(tmp) / fam, seed=0)  # as tests/models/conftest.py: saved, then loaded
            lm = load(Path(tmp) / fam)
            for strat in BUILT_IN:
                for name in CASES:
                    out[f"{fam}/{strat}/{name}"] = record(lm, strat, name)
    lines = [f"{json.dumps(k)}: {json.dumps(out[k], sort_keys=True)}" for k in sorted(out)]  # one case a line
    Path(sys.argv[1]).write_text("{\n" + ",\n".join(lines) + "\n}\n")
