"""``tempoforge doctor``: check the environment, a video and a model's view of time, and say what is wrong.

Checks, each reported as ``ok`` / ``warn`` / ``fail`` / ``info`` with an explanation:

- environment: torch (and CUDA), transformers, TRL, PEFT, PyAV; torchvision (absent is fine: tempoforge's
  tensorizer replaces the stock Qwen video processors); Java (METEOR and the PTB tokenizer need it);
- video (``--video``): probe, sample at ``--fps`` within ``--max-frames``, report the actual frame times and
  whether the frames reach the end of the video;
- model (``--model``): load it, build inputs for the frames under each timestamp strategy, print the
  temporal position each frame group gets, and flag: groups collapsing onto one temporal id (fps above the
  M-RoPE resolution), the stock ``get_rope_index`` text-after-video overlap (DESIGN.md), and what the stock
  model would do without ``second_per_grid_ts`` (silently 2 fps).
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tempoforge.records import Frames
from tempoforge.timestamps import get_strategy

__all__ = ["Check", "check_environment", "check_model", "check_video", "format_report", "run_doctor",
           "stock_position_ids"]

Status = Literal["ok", "warn", "fail", "info"]


@dataclass
class Check:
    status: Status
    name: str
    detail: str


def _version(module: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return None
    mod = importlib.import_module(module)
    return str(getattr(mod, "__version__", "installed"))


def check_environment() -> list[Check]:
    out: list[Check] = []
    import torch

    cuda = f"CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s)" if torch.cuda.is_available() else "CPU only"
    out.append(Check("ok", "torch", f"{torch.__version__} ({cuda})"))
    for mod, why in (("transformers", "models"), ("trl", "training"), ("peft", "LoRA adapters"), ("av", "video decoding")):
        v = _version(mod)
        out.append(Check("ok" if v else "fail", mod, v if v else f"missing: needed for {why}"))
    tv = _version("torchvision")
    out.append(Check("info", "torchvision", f"{tv}: the stock Qwen video processors are available" if tv else
                     "absent: tempoforge's torch tensorizer replaces the stock Qwen video processors"))
    java = shutil.which("java")
    if java is None:
        out.append(Check("warn", "java", "not found: METEOR and the PTB tokenizer (dense captioning scores) need Java"))
    else:
        try:
            r = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
            line = (r.stderr or r.stdout).strip().splitlines()[0] if (r.stderr or r.stdout).strip() else java
            out.append(Check("ok", "java", f"{line} (METEOR available)"))
        except (OSError, subprocess.SubprocessError) as exc:
            out.append(Check("warn", "java", f"{java} does not run ({exc})"))
    return out


def check_video(path: Path, fps: float, max_frames: int) -> tuple[list[Check], Frames | None]:
    from tempoforge.io import probe
    from tempoforge.models.inputs import check_coverage
    from tempoforge.models.video import VideoSettings, load_frames

    try:
        info = probe(path)
        frames = load_frames(path, VideoSettings(fps=fps, max_frames=max_frames))
    except (ValueError, OSError) as exc:
        return [Check("fail", "video", f"{path}: {exc}")], None
    out = [Check("ok", "video", f"{path}: {info.duration:.2f} s, {info.fps:.3f} fps"
                 f"{' (variable)' if info.variable_fps else ''}, {info.width}x{info.height}, {info.codec}")]
    t = frames.times
    out.append(Check("ok", "sampling", f"{len(frames)} frames at {fps:g} fps (cap {max_frames}): "
                     f"t = {t[0]:.3f} ... {t[-1]:.3f} s"))
    for w in frames.warnings:
        out.append(Check("warn", "sampling", w))
    if (msg := check_coverage(frames, info.duration)) is not None:
        out.append(Check("fail", "coverage", msg))
    return out, frames


def _base(lm: Any) -> Any:
    model = lm.model.get_base_model() if hasattr(lm.model, "get_base_model") else lm.model
    return model.model


def stock_position_ids(lm: Any, batch: dict[str, Any], with_spgt: bool = True) -> Any:
    """What transformers' own ``get_rope_index`` computes for ``batch`` (``(3, B, L)``)."""
    kwargs: dict[str, Any] = {k: batch[k] for k in ("image_grid_thw", "video_grid_thw") if k in batch}
    if with_spgt and "second_per_grid_ts" in batch:
        kwargs["second_per_grid_ts"] = batch["second_per_grid_ts"]
    pos, _ = _base(lm).get_rope_index(batch["input_ids"], mm_token_type_ids=batch["mm_token_type_ids"],
                                      attention_mask=batch["attention_mask"], **kwargs)
    return pos


def _synthetic_frames(lm: Any, fps: float, seconds: float = 16.0) -> Frames:
    side = lm.vision.factor * 2
    n = max(2, round(seconds * fps))
    data = np.full((n, side, side, 3), 128, dtype=np.uint8)
    return Frames(data, np.arange(n) / fps)


def check_model(lm: Any, frames: Frames | None, fps: float, strategies: list[str]) -> list[Check]:
    from tempoforge.models.inputs import build_example, collate

    fam = lm.family
    if fam.time_aware_mrope:
        time_form = (f"time-aware M-RoPE, {lm.tokens_per_second:g} temporal ids per second (frame groups closer "
                     f"than {1 / lm.tokens_per_second:g} s collide: at most "
                     f"{lm.tokens_per_second * lm.vision.temporal_patch_size:g} fps)")
    elif fam.native_text_timestamps:
        time_form = "time as '<t seconds>' text before every temporal patch (native)"
    else:
        time_form = "M-RoPE temporal id = frame-group index (no notion of seconds: only order reaches the model)"
    out = [Check("ok", "model", f"{lm.name}: {fam.model_type}, patch {lm.vision.patch_size}, temporal patch "
                 f"{lm.vision.temporal_patch_size}; {time_form}")]
    if frames is None:
        frames = _synthetic_frames(lm, fps)
        out.append(Check("info", "frames", f"no --video: {len(frames)} synthetic frames at {fps:g} fps"))
    for strategy in strategies:
        ex = build_example(lm, "When does it happen?", frames, strategy)
        table = _temporal_table(ex)
        cells = [f"{t:.1f}s->{p}" for t, p in table]
        shown = ", ".join(cells if len(cells) <= 8 else [*cells[:5], "...", *cells[-2:]])
        out.append(Check("info", f"{strategy}: temporal ids", f"frame time -> temporal position: {shown}"))
        for w in ex.warnings:
            out.append(Check("warn", f"{strategy}: inputs", w))
        if get_strategy(strategy).for_family(fam.native_text_timestamps).layout == "video":  # one M-RoPE block
            batch = collate([ex], pad_token_id=lm.token_ids["pad"])
            out += _compare_stock(lm, ex, batch)
    return out


def _temporal_table(ex: Any) -> list[tuple[float, int]]:
    """(time, temporal position id) of the first token of every frame group, in sequence order."""
    rows = []
    types = ex.mm_token_type_ids.tolist()
    i, k = 0, 0
    while i < len(types):
        if types[i] == 0:
            i += 1
            continue
        seg = ex.segments[k]
        k += 1
        t, h, w = seg.grid
        for g in range(t):
            rows.append((seg.times[g], int(ex.position_ids[0, i + g * h * w])))
        i += seg.num_tokens
    return rows


def _compare_stock(lm: Any, ex: Any, batch: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    ours = batch["position_ids"][:, 0]
    stock = stock_position_ids(lm, batch)[:, 0]
    vis = ex.mm_token_type_ids != 0
    if bool((ours[:, vis] == stock[:, vis]).all()):
        out.append(Check("ok", "mrope: video tokens", "tempoforge's positions equal transformers' get_rope_index "
                         "on every video token"))
    else:
        out.append(Check("info", "mrope: video tokens", "positions differ from transformers' uniform-fps rule "
                         "(the frames are not uniformly spaced; tempoforge uses their actual times)"))
    after = int(vis.nonzero().max()) + 1
    if after < ours.shape[1]:
        o, s = int(ours[0, after]), int(stock[0, after])
        if o != s:
            out.append(Check("warn", "mrope: text after video", f"transformers 5.x get_rope_index starts the question "
                             f"after the video at position {s}, inside the video's time range (which reaches "
                             f"{int(ours[0, vis].max())}); the original Qwen rule starts it at {o}. tempoforge passes the "
                             "original positions explicitly"))
        else:
            out.append(Check("ok", "mrope: text after video", f"starts at {o} under both rules"))
    if lm.family.takes_second_per_grid_ts:
        nospgt = stock_position_ids(lm, batch, with_spgt=False)[:, 0]
        if not bool((nospgt[0, vis] == ours[0, vis]).all()):
            out.append(Check("info", "mrope: second_per_grid_ts", "without second_per_grid_ts the stock model would "
                             "assume 2 fps and give these frames other temporal ids; tempoforge always passes "
                             "positions computed from the frame times"))
    return out


def run_doctor(model: Path | None, video: Path | None, fps: float, max_frames: int,
               strategies: list[str]) -> list[Check]:
    checks = check_environment()
    frames = None
    if video is not None:
        more, frames = check_video(video, fps, max_frames)
        checks += more
    if model is not None:
        from tempoforge.models.load import load

        try:
            lm = load(model)
        except (ValueError, OSError) as exc:
            return [*checks, Check("fail", "model", f"{model}: {exc}")]
        checks += check_model(lm, frames, fps, strategies)
    return checks


def format_report(checks: list[Check]) -> str:
    width = max((len(c.name) for c in checks), default=0)
    lines = [f"[{c.status.upper():>4}] {c.name:<{width}}  {c.detail}" for c in checks]
    n = {s: sum(c.status == s for c in checks) for s in ("fail", "warn")}
    lines.append(f"{len(checks)} checks: {n['fail']} failed, {n['warn']} warnings")
    return "\n".join(lines)
