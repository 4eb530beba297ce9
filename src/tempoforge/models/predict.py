"""``tempoforge predict``: batched generation over a benchmark file, resumable, one Prediction per line.

Input: a JSONL of :class:`~tempoforge.records.GroundingSample` (grounding, QVHighlights benchmarks) or
:class:`~tempoforge.records.DenseCaptionSample` (dense captioning); ``video`` paths are relative to the
data file's folder (absolute paths are kept). Output: self-contained
:class:`~tempoforge.records.Prediction` lines (raw answer, ground truth, duration, timestamp strategy and
the actual frame times) that ``tempoforge eval score`` re-scores offline any number of times.

Resumable: ids already in the output are skipped; every batch is appended crash-safely
(``append_jsonl``), so an interrupted run loses at most the batch in flight. A video that cannot be
decoded gives a prediction with an empty answer and ``meta["error"]`` (scored as a failure, as the
official scorers do, and never silently dropped).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tempoforge.errors import UserError
from tempoforge.eval.benchmarks import normalize_name
from tempoforge.models.config import PredictConfig
from tempoforge.models.inputs import Example, build_example, check_coverage, collate
from tempoforge.models.load import LoadedModel
from tempoforge.models.prompts import (
    dense_captioning_prompt,
    grounding_prompt,
    qvhighlights_prompt,
    task_for_benchmark,
)
from tempoforge.records import DenseCaptionSample, GroundingSample, Prediction
from tempoforge.timestamps import check_strategy

__all__ = ["PredictConfig", "done_ids", "ground_truth", "predict", "prompt_for", "read_samples"]

log = logging.getLogger(__name__)

Sample = GroundingSample | DenseCaptionSample


def read_samples(path: Path, task: str) -> list[Sample]:
    """The data file's records (``DenseCaptionSample`` for dense captioning, else ``GroundingSample``)."""
    from tempoforge.io.jsonl import read_jsonl

    cls: Any = DenseCaptionSample if task == "dense_captioning" else GroundingSample
    if not Path(path).is_file():
        raise UserError(f"data file not found: {path}")
    samples: list[Sample] = list(read_jsonl(path, cls))
    seen: set[str] = set()
    for i, s in enumerate(samples):
        if s.id in seen:
            raise UserError(f"{path}:{i + 1}: duplicate id {s.id!r}")
        seen.add(s.id)
    return samples


def done_ids(out: Path) -> set[str]:
    """Ids already predicted in ``out`` (a torn last line, from a crash, is ignored)."""
    if not out.is_file():
        return set()
    ids: set[str] = set()
    lines = out.read_text().splitlines()
    for n, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            ids.add(str(json.loads(line)["id"]))
        except (json.JSONDecodeError, KeyError, TypeError):
            if n == len(lines) - 1:
                continue
            raise UserError(f"{out}:{n + 1}: not a prediction line; refusing to append to this file") from None
    return ids


def prompt_for(sample: Sample, task: str, with_duration: bool = False) -> str:
    """The exact prompt text of a sample (templates in ``prompts.py``)."""
    duration = sample.duration if with_duration else None
    if task == "dense_captioning":
        return dense_captioning_prompt(duration)
    assert isinstance(sample, GroundingSample)
    if task == "qvhighlights":
        return qvhighlights_prompt(sample.query, duration)
    if task == "grounding":
        return grounding_prompt(sample.query, duration)
    raise UserError(f"predict does not support the {task!r} task yet (no data record for it)")


def _windows(answer: str, duration: float | None) -> list[list[float]]:
    """The spans our parser reads in ``answer`` (raw order; only finite times inside the video)."""
    from tempoforge.eval.parsing import parse_spans

    return [list(w) for w in parse_spans(answer, duration).raw_windows]


def ground_truth(sample: Sample) -> tuple[list[list[float]], str | None, list[str] | None]:
    """``(gt windows, query, gt captions)`` of a sample as a Prediction carries them (the query of a
    grounding sample; the captions of a dense-captioning one)."""
    if isinstance(sample, DenseCaptionSample):
        return [list(e.span.as_pair()) for e in sample.events], None, [e.caption for e in sample.events]
    return [list(s.as_pair()) for s in sample.spans], sample.query, None


def _base(sample: Sample, cfg: PredictConfig, lm: LoadedModel, strategy: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"fps": cfg.fps, "max_frames": cfg.max_frames, "selection": cfg.selection}
    if cfg.blank:
        meta["blank"] = True
    gt, query, captions = ground_truth(sample)
    if captions is not None:
        meta["gt_captions"] = captions
    if isinstance(sample, GroundingSample) and not sample.relevant:
        meta["relevant"] = False
    return {"id": sample.id, "benchmark": normalize_name(cfg.benchmark), "duration": sample.duration, "gt": gt, "query": query,
            "video": sample.video, "model": lm.name, "timestamps": strategy, "meta": meta}


def _chunks(items: Sequence[Sample], n: int) -> Iterator[Sequence[Sample]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _generate(lm: LoadedModel, examples: list[Example], max_new_tokens: int) -> list[str]:
    import torch

    batch = collate(examples, pad_token_id=lm.token_ids["pad"], padding_side="left")
    dtype = next(lm.model.parameters()).dtype
    inputs = {k: (v.to(lm.device, dtype) if k.startswith("pixel_values") else v.to(lm.device))
              for k, v in batch.items()}
    ids = lm.token_ids
    with torch.inference_mode():
        out = lm.model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                pad_token_id=ids["pad"], eos_token_id=[ids["eos"], ids["pad"]])
    new = out[:, batch["input_ids"].shape[1]:]
    return [s.strip() for s in lm.tokenizer.batch_decode(new, skip_special_tokens=True)]


def predict(cfg: PredictConfig, *, lm: LoadedModel | None = None, quiet: bool = False) -> int:
    """Run prediction; returns the number of new prediction lines written."""
    from tqdm import tqdm

    from tempoforge.io.jsonl import append_jsonl
    from tempoforge.models.video import load_frames, resolve_video

    if cfg.data is None or cfg.out is None or (cfg.model is None and lm is None):
        raise UserError("predict needs --model, --data and --out")
    if cfg.batch_size < 1 or cfg.max_frames < 1 or cfg.fps <= 0:
        raise UserError("--batch-size and --max-frames must be >= 1 and --fps > 0")
    strategy = check_strategy(cfg.timestamps)
    video = cfg.video_settings()
    task = task_for_benchmark(cfg.benchmark)
    samples = read_samples(cfg.data, task)
    if cfg.limit is not None:
        samples = samples[: cfg.limit]
    done = done_ids(cfg.out)
    todo = [s for s in samples if s.id not in done]
    if done:
        log.info("%s: %d of %d samples already predicted; %d to go", cfg.out, len(samples) - len(todo),
                 len(samples), len(todo))
    if not todo:
        return 0
    if lm is None:
        from tempoforge.models.load import load

        assert cfg.model is not None
        lm = load(cfg.model, dtype=cfg.dtype, device=cfg.device, attn_implementation=cfg.attn_implementation,
                  adapter=cfg.adapter, trust_remote_code=cfg.trust_remote_code)
    root = Path(cfg.data).resolve().parent
    written = 0
    bar = tqdm(total=len(todo), desc="predict", unit="sample", disable=quiet)
    for chunk in _chunks(todo, cfg.batch_size):
        preds: list[Prediction] = []
        examples: list[Example] = []
        pending: list[dict[str, Any]] = []
        for s in chunk:
            rec = _base(s, cfg, lm, strategy)
            try:
                frames = load_frames(resolve_video(s.video, root), video)
                warn = list(frames.warnings)
                if (msg := check_coverage(frames, s.duration)) is not None:
                    warn.append(msg)
                ex = build_example(lm, prompt_for(s, task, cfg.duration_in_prompt), frames, strategy,
                                   max_pixels=cfg.max_pixels)
            except (UserError, ValueError, OSError) as exc:
                log.warning("%s: %s", s.id, exc)
                rec["meta"]["error"] = str(exc)
                preds.append(Prediction(**rec))
                continue
            warn += [w for w in ex.warnings if w not in warn]
            if warn:
                rec["meta"]["warnings"] = warn
            rec["frame_times"] = ex.frame_times
            examples.append(ex)
            pending.append(rec)
        if examples:
            for rec, answer in zip(pending, _generate(lm, examples, cfg.max_new_tokens), strict=True):
                preds.append(Prediction(**rec, answer=answer, windows=_windows(answer, rec["duration"])))
        written += append_jsonl(cfg.out, preds)
        bar.update(len(chunk))
    bar.close()
    return written
