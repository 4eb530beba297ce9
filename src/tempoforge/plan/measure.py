"""Run a real preset's stages for a few steps on its architecture cut in depth, and measure peak memory.

``run_preset(preset, work_dir, layers=2)`` builds the preset's published architecture at random init with
``layers`` decoder layers and vision blocks (same widths; bf16), writes synthetic videos long enough for the
preset's frame budget, and runs every stage's trainer (``run_dpo`` / ``run_sft`` / ``run_grpo`` /
``run_evidence_sft`` / ``run_fpo``) with the stage's own settings: LoRA, gradient checkpointing, frame
budget, timestamp strategy, frame selection, batch size. The shrinking overrides, and only these: the
number of steps, ``grad_accum`` 1, GRPO's ``max_new_tokens`` (``max_new``) and, if given, group size
(``generations``), the per-device batch if given (``batch``), D2VLM's ``inject_layer`` (at most ``layers``),
and, with ``pixels``, the checkpoint's pixel
limits and the stage's ``max_pixels`` (``pixels`` per frame, e.g. 784 = one
merged token per frame pair, so that a 7B-wide step runs on 2 CPU cores in tens of seconds).

Peak memory per stage: on CUDA ``torch.cuda.max_memory_allocated``; on CPU the resident set size sampled
every 5 ms by a thread (``/proc/self/statm``), both minus the value before the model was built, so they
compare with :func:`tempoforge.plan.estimate.estimate` on the same cut architecture (backend ``local``).
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tempoforge.plan.presets import PresetPlan, Stage, read_preset

__all__ = ["PeakMemory", "StageRun", "run_preset", "shrink_spec"]


class PeakMemory:
    """Peak memory above a baseline, on CUDA (allocator peak) or CPU (sampled resident set size)."""

    def __init__(self, device: str, baseline: int | None = None, interval: float = 0.005) -> None:
        self.device, self.interval = device, interval
        self.baseline = self.current() if baseline is None else baseline
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> int:
        """Bytes in use now (CUDA: allocated by torch; CPU: resident set size)."""
        if self.device.startswith("cuda"):
            import torch

            return int(torch.cuda.memory_allocated())
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            time.sleep(self.interval)

    def __enter__(self) -> PeakMemory:
        self.peak = self.current()
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.reset_peak_memory_stats()
        else:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.startswith("cuda"):
            import torch

            self.peak = max(self.peak, int(torch.cuda.max_memory_allocated()))
        else:
            self._stop.set()
            assert self._thread is not None
            self._thread.join()
            self.peak = max(self.peak, self.current())

    @property
    def above_baseline(self) -> int:
        return self.peak - self.baseline


@dataclass
class StageRun:
    """What one stage did at reduced depth."""

    name: str
    kind: str
    losses: list[float]
    seconds: float
    peak_bytes: int  # above the memory in use before the model was built
    prompt_tokens: int  # text tokens of the prompt (whole prompt minus the video's tokens)
    answer_tokens: int
    video_tokens: int
    vision_rows: int
    frames: int
    vision_calls: int
    checkpointing: bool  # gradient checkpointing was on in the trained model
    trainable: int  # trainable parameters of the trained model (LoRA or full)
    dtype: str  # dtype of the base weights
    settings: Any = field(repr=False, default=None)


def dense_lm_head_input(model: Any) -> Any:
    """Give the LM head a densely strided input (a CPU bf16 workaround; returns the hook handle).

    transformers slices the last position(s) before the head (``hidden[:, -1:]`` in ``generate``'s prefill);
    for a bf16 input whose batch stride spans the whole sequence, torch 2.13's CPU matmul expands the
    ``(V, h)`` weight once per row and copies it (8 GRPO rows x 1 GiB and ~15 s each for a 7B head).
    A dense copy of the few kept positions takes the ordinary path.
    """
    import torch

    def hook(module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        x = args[0]
        if x.dim() == 3 and x.stride(0) != x.shape[1] * x.shape[2]:
            x = x.clone(memory_format=torch.contiguous_format)
        return (x, *args[1:])

    return model.get_output_embeddings().register_forward_pre_hook(hook)


def shrink_spec(spec: Any, pixels: int) -> Any:
    """``spec`` with every pixel limit set to ``pixels`` (at least one merge window, ``factor**2``)."""
    p = max(pixels, spec.factor**2)
    return dataclasses.replace(spec, min_pixels=p, max_pixels=p, video_min_pixels=p,
                               video_max_pixels=p * (256 if spec.budget == "total" else 1))


def _write_clip(path: Path, seconds: float, fps: int, size: tuple[int, int]) -> str:
    """A clip of a square moving across a dark background (enough change for SAA frame selection)."""
    from tempoforge.io import write_video

    h, w = size
    n = max(2, math.ceil(seconds * fps))
    frames = np.full((n, h, w, 3), 20, np.uint8)
    side = max(2, min(h, w) // 3)
    for k in range(n):
        x = int(k * (w - side) / (n - 1))
        frames[k, h // 3: h // 3 + side, x: x + side] = (200, 40 + (k * 7) % 200, 40)
    return str(write_video(path, list(frames), fps))


def _videos(work: Path, stage: Stage, count: int, size: tuple[int, int]) -> list[str]:
    """``count`` clips long enough that sampling at the stage's fps hits its frame cap exactly."""
    v = stage.video
    fps = max(1, math.ceil(v.fps))
    seconds = v.max_frames / v.fps + 1.0
    out = work / f"clips_{v.max_frames}_{v.fps:g}_{size[0]}x{size[1]}"
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(count):
        p = out / f"clip{k}.mp4"
        paths.append(str(p) if p.is_file() else _write_clip(p, seconds + k, fps, size))
    return paths


def _settings(stage: Stage, steps: int, max_new: int | None, generations: int | None, batch: int | None,
              pixels: int | None) -> Any:
    s = copy.deepcopy(stage.settings)
    if pixels is not None:
        s.video.max_pixels = pixels
    s.optim.max_steps, s.optim.grad_accum, s.optim.save_steps = steps, 1, 0
    s.optim.batch_size = batch if batch is not None else s.optim.batch_size
    s.optim.warmup_ratio = 0.0
    if stage.kind == "grpo":
        s.max_new_tokens = max_new if max_new is not None else s.max_new_tokens
        s.num_generations = generations if generations is not None else s.num_generations
    return s


def _stage_inputs(stage: Stage, plan: PresetPlan, settings: Any, videos: list[str]) -> tuple[str, str, Any]:
    """``(prompt, answer, run)``: the stage's representative prompt and answer, and a function
    ``run(model, out_dir) -> losses`` that trains the stage on ``batch_size`` synthetic samples."""
    from tempoforge.records import PreferencePair, Span

    b = settings.optim.batch_size
    vid = [videos[k % len(videos)] for k in range(b)]
    duration = settings.video.max_frames / settings.video.fps
    third = duration / 3
    if plan.method == "temple":
        from tempoforge.train.data import SFTItem

        prompt = "Describe what happens in this video, in order."
        chosen = "First, a red square enters from the left. Then it crosses the frame. Finally, it leaves."
        rejected = "First, a red square leaves. Then it crosses the frame. Finally, it enters from the left."
        if stage.kind == "dpo":
            from tempoforge.train.dpo import run_dpo

            pairs = [PreferencePair(id=f"p{k}", video=v, prompt=prompt, chosen=chosen, rejected=rejected,
                                    kind="reverse", r=2, seed=0) for k, v in enumerate(vid)]
            return prompt, chosen, lambda lm, out: run_dpo(lm, pairs, settings, out).losses
        from tempoforge.train.sft import run_sft

        items = [SFTItem(f"s{k}", v, prompt, chosen) for k, v in enumerate(vid)]
        return prompt, chosen, lambda lm, out: run_sft(lm, items, settings, out).losses
    if plan.method == "tempura":
        from tempoforge.train.data import SFTItem
        from tempoforge.train.sft import run_sft

        masked = stage.name.startswith("masked")
        prompt = ("Predict the event hidden in the black frames, with its time span." if masked else
                  "Partition the video into non-overlapping events and describe each one with its time span.")
        answer = (f"From {third:.1f} to {2 * third:.1f} seconds, the red square crosses the middle." if masked else
                  " ".join(f"From {k * third:.1f} to {(k + 1) * third:.1f} seconds, the square moves on."
                           for k in range(3)))
        spans = ((third, 2 * third),) if masked else ()
        items = [SFTItem(f"t{k}", v, prompt, answer, masked=spans) for k, v in enumerate(vid)]
        return prompt, answer, lambda lm, out: run_sft(lm, items, settings, out).losses
    if plan.method == "tempo-r0":
        from tempoforge.records import GroundingSample
        from tempoforge.train.grpo import run_grpo
        from tempoforge.train.recipes.tempo_r0 import grpo_items

        samples = [GroundingSample(id=f"g{k}", video=v, query="the red square crosses the frame",
                                   spans=[Span.of(third, 2 * third)], duration=duration) for k, v in enumerate(vid)]
        gitems = grpo_items(samples, None, plan.config.duration_in_prompt)
        answer = "x " * settings.max_new_tokens  # sampled completions run to max_new_tokens on random weights
        return gitems[0].prompt, answer, lambda lm, out: run_grpo(lm, gitems, settings, out, progress=False).losses
    from tempoforge.synth.factorized import EvidenceEvent, render_response
    from tempoforge.train.fpo import EvidenceItem, run_evidence_sft, run_fpo
    from tempoforge.train.recipes.d2vlm import GROUNDING_PROMPT

    good, bad = Span.of(third, 2 * third), Span.of(2 * third, duration)
    prompt = GROUNDING_PROMPT.format(query="the red square crosses the frame")
    resp = render_response([EvidenceEvent(good, "the red square crosses the frame")], "d2vlm")
    if stage.kind == "evidence":
        eitems = [EvidenceItem(f"e{k}", v, prompt, resp, (good,)) for k, v in enumerate(vid)]
        return prompt, resp, lambda elm, out: run_evidence_sft(elm, eitems, settings, out).losses
    neg = render_response([EvidenceEvent(bad, "the red square crosses the frame")], "d2vlm")
    fpairs = [PreferencePair(id=f"f{k}", video=v, prompt=prompt, chosen=resp, rejected=neg, factor="shift",
                             chosen_spans=[good], rejected_spans=[bad]) for k, v in enumerate(vid)]
    return prompt, resp, lambda elm, out: run_fpo(elm, fpairs, settings, out).losses


def _checkpointing_on(model: Any) -> bool:
    return any(getattr(m, "gradient_checkpointing", False) for m in model.modules())


def _reset(model: Any) -> Any:
    """Back to the plain base model between stages: LoRA removed unmerged, checkpointing off."""
    if hasattr(model, "unload"):
        model = model.unload()
    if _checkpointing_on(model):
        off = getattr(model, "activation_checkpointing_disable", None) or model.gradient_checkpointing_disable
        off()
    return model


def run_preset(preset: str | Path, work_dir: str | Path, *, layers: int = 2, steps: int = 1,
               pixels: int | None = None, max_new: int | None = 8, generations: int | None = None,
               batch: int | None = None, size: tuple[int, int] | None = None,
               device: str | None = None, seed: int = 0) -> tuple[PresetPlan, list[StageRun]]:
    """Run every stage of ``preset`` for ``steps`` steps at ``layers`` layers (see the module doc).

    ``size``: the (height, width) of the synthetic clips (default: 56x56 with ``pixels``, else 448x448).
    ``device``: default ``cuda`` when available, else ``cpu``.
    """
    import torch

    from tempoforge.models.inputs import build_example
    from tempoforge.models.real import arch_for_model, init_real
    from tempoforge.models.video import load_frames
    from tempoforge.train.base import VisionProbe

    plan = read_preset(preset)
    arch = arch_for_model(plan.model)
    if arch is None:
        from tempoforge.errors import UserError

        raise UserError(f"{plan.path}: model {plan.model!r} names no published architecture to build")
    dev = device or ("cuda" if torch.cuda.is_available() else "cpu")
    work = Path(work_dir)
    gc.collect()
    mem0 = PeakMemory(dev).baseline
    lm = init_real(arch.family, arch.size, layers=layers, dtype="bfloat16", seed=seed)
    if pixels is not None:
        lm.vision = shrink_spec(lm.vision, pixels)
    lm.model.to(dev)
    if dev == "cpu":
        dense_lm_head_input(lm.model)
    clip = size or ((56, 56) if pixels is not None else (448, 448))
    runs = []
    for k, stage in enumerate(plan.stages):
        settings = _settings(stage, steps, max_new, generations, batch, pixels)
        videos = _videos(work, stage, max(2, settings.optim.batch_size), clip)
        prompt, answer, run = _stage_inputs(stage, plan, settings, videos)
        ex = build_example(lm, prompt, load_frames(videos[0], settings.video), settings.video.timestamps,
                           answer=answer)
        vis = int((ex.mm_token_type_ids != 0).sum())
        grid = ex.video_grid_thw if ex.video_grid_thw is not None else ex.image_grid_thw
        rows = int(grid.prod(dim=1).sum()) if grid is not None else 0
        target: Any = lm
        if stage.kind in ("evidence", "fpo"):
            from tempoforge.models.evidence import EvidenceModel

            evidence = dataclasses.replace(plan.config.evidence,
                                           inject_layer=min(plan.config.evidence.inject_layer, layers))
            target = EvidenceModel(lm, evidence)
            target.to(dev)
        gc.collect()
        t0 = time.perf_counter()
        with PeakMemory(dev, baseline=mem0) as mem, VisionProbe(lm.model) as probe:
            losses = run(target, work / f"stage{k}")
        runs.append(StageRun(
            name=stage.name, kind=stage.kind, losses=[float(x) for x in losses], seconds=time.perf_counter() - t0,
            peak_bytes=mem.above_baseline, prompt_tokens=ex.prompt_length - vis,
            answer_tokens=len(ex.input_ids) - ex.prompt_length, video_tokens=vis, vision_rows=rows,
            frames=len(ex.frame_times), vision_calls=probe.calls,
            checkpointing=_checkpointing_on(lm.model),
            trainable=sum(p.numel() for p in lm.model.parameters() if p.requires_grad),
            dtype=str(lm.model.get_input_embeddings().weight.dtype).replace("torch.", ""), settings=settings))
        lm.model = _reset(lm.model)
        del target
        gc.collect()
    return plan, runs
