"""Greedy generation with evidence tokens (METHODS.md 3.2, inference), and its detokenisation.

At every generated ``<evi>``: ``p = sigmoid(sim)`` over the units, keep ``p >= 0.6 * max(p)``, take the
best contiguous run (largest summed ``p``), inject the mean intermediate feature of that run into the
``<evi>`` embedding fed back to the model, and print the ``<evi>`` as ``"s - e"`` (seconds, one
decimal; ``s`` the first unit's start, ``e`` the last unit's end). ``</evi>`` closes the evidence part.

Generation is a plain KV-cached greedy loop (``model.generate`` cannot build an input embedding from the
state that produced the token); one sample at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from tempoforge.models.evidence import EvidenceModel, _units_of, best_run, unit_bounds
from tempoforge.models.inputs import Example, collate
from tempoforge.models.kv_cache import cache_kwargs, output_cache
from tempoforge.models.video import VideoSettings, load_frames, resolve_video
from tempoforge.records import Prediction
from tempoforge.timecode import format_seconds

__all__ = ["EvidenceGeneration", "detokenise", "generate_evidence", "predict_evidence"]


@dataclass
class EvidenceGeneration:
    """One generated response: ``raw`` keeps the tokens, ``answer`` is the detokenised answer part."""

    raw: str
    text: str
    answer: str
    evidence_spans: list[list[float]] = field(default_factory=list)
    answer_spans: list[list[float]] = field(default_factory=list)
    closed: bool = False  # whether </evi> was generated


def _span_text(span: list[float]) -> str:
    return f"{format_seconds(span[0])} - {format_seconds(span[1])}"


def detokenise(pieces: list[tuple[str, Any]]) -> tuple[str, str, str]:
    """``(raw, text, answer)`` from ``("text", str) | ("evi", [s, e]) | ("end", None)`` pieces.

    ``text`` replaces each ``<evi>`` by ``"s - e"`` (evidence spans joined by ``"; "``) and ``</evi>`` by a
    newline; ``answer`` is the part after ``</evi>`` (everything when it never closed).
    """
    raw, parts, answer_start = [], [], None
    prev_evi = False
    for kind, value in pieces:
        if kind == "text":
            raw.append(value)
            parts.append(value)
            prev_evi = False
        elif kind == "evi":
            raw.append("<evi>")
            parts.append(("; " if prev_evi and answer_start is None else "") + _span_text(value))
            prev_evi = True
        else:
            raw.append("</evi>")
            parts.append("\n")
            answer_start = len(parts)
            prev_evi = False
    text = "".join(parts).strip()
    answer = "".join(parts[answer_start:]).strip() if answer_start is not None else text
    return "".join(raw).strip(), text, " ".join(answer.split())


@torch.no_grad()
def generate_evidence(elm: EvidenceModel, example: Example, max_new_tokens: int = 128) -> EvidenceGeneration:
    """Greedy decoding of one example (built without an answer) with evidence grounding and injection."""
    model, tok = elm.model, elm.lm.tokenizer
    ids_map = elm.lm.token_ids
    pad = ids_map["pad"]
    stop = {ids_map["eos"], pad}
    evi_id, end_id = elm.token_ids
    device = next(model.parameters()).device
    dtype = model.get_input_embeddings().weight.dtype
    batch = collate([example], pad_token_id=pad, padding_side="left")
    batch.pop("labels", None)
    batch = {k: (v.to(device, dtype) if k.startswith("pixel_values") else v.to(device)) for k, v in batch.items()}
    out = model(**batch, use_cache=True, output_hidden_states=True)
    units = _units_of(example)
    keys, feats = elm.frame_features(out.hidden_states, units, 0)
    bounds = unit_bounds(example.frame_times, len(units))
    cache, attn = output_cache(out), batch["attention_mask"]
    pos = int(example.position_ids.max()) + 1
    last, gen, logits = out.hidden_states[-1][:, -1], out.hidden_states[-2][:, -1], out.logits[:, -1]
    pieces: list[tuple[str, Any]] = []
    pending: list[int] = []
    ev_spans: list[list[float]] = []
    an_spans: list[list[float]] = []
    closed = False

    def flush() -> None:
        if pending:
            pieces.append(("text", tok.decode(pending, skip_special_tokens=True)))
            pending.clear()

    for _ in range(max_new_tokens):
        nxt = int(elm._logits(logits, last).argmax(-1)[0])
        if nxt in stop:
            break
        if nxt == evi_id:
            q = elm.heads.evi(gen.float())
            p = torch.sigmoid(elm.similarity(q, keys)[0])
            first, last_u = best_run(p, elm.settings.threshold)
            span = [round(float(bounds[first, 0]), 3), round(float(bounds[last_u, 1]), 3)]
            (an_spans if closed else ev_spans).append(span)
            flush()
            pieces.append(("evi", span))
            emb = elm.heads.token_embed[0].to(dtype)
            if elm.settings.inject:
                emb = emb + feats[first:last_u + 1].mean(0).to(dtype)
            emb = emb.view(1, 1, -1)
        else:
            if nxt == end_id:
                flush()
                pieces.append(("end", None))
                closed = True
            else:
                pending.append(nxt)
            emb = elm._embed(torch.tensor([[nxt]], device=device))
        attn = torch.cat([attn, attn.new_ones((1, 1))], dim=1)
        step = model(inputs_embeds=emb, attention_mask=attn, position_ids=torch.full((3, 1, 1), pos, device=device),
                     **cache_kwargs(model, cache), mm_token_type_ids=torch.zeros((1, 1), dtype=torch.long, device=device),
                     use_cache=True, output_hidden_states=True)
        pos += 1
        cache = output_cache(step)
        last, gen, logits = step.hidden_states[-1][:, -1], step.hidden_states[-2][:, -1], step.logits[:, -1]
    flush()
    raw, text, answer = detokenise(pieces)
    return EvidenceGeneration(raw, text, answer, ev_spans, an_spans, closed)


def predict_evidence(elm: EvidenceModel, samples: list[Any], *, prompt: Callable[[Any], str],
                     video: VideoSettings, root: Path, out: Path, benchmark: str, max_new_tokens: int = 128,
                     quiet: bool = True) -> list[Prediction]:
    """Generate for ``samples`` (``GroundingSample`` / ``DenseCaptionSample``) and write ``out``.

    Each :class:`Prediction` keeps the detokenised answer part (``answer``), its ``<evi>`` spans
    (``windows``), and in ``meta`` the evidence-part spans (``evidence_spans``), the answer-part spans
    (``answer_spans``) and the raw response with its tokens (``raw``). Frames come from
    ``models.video.load_frames``, the path ``predict`` and training use.
    """
    from tqdm import tqdm

    from tempoforge.io.jsonl import write_jsonl
    from tempoforge.models.inputs import build_example
    from tempoforge.models.predict import ground_truth
    from tempoforge.timestamps import check_strategy

    strategy = check_strategy(video.timestamps)
    preds = []
    for s in tqdm(samples, desc=f"predict {benchmark}", disable=quiet):
        frames = load_frames(resolve_video(s.video, root), video)
        ex = build_example(elm.lm, prompt(s), frames, strategy, max_pixels=video.max_pixels)
        g = generate_evidence(elm, ex, max_new_tokens)
        meta: dict[str, Any] = {"evidence_spans": g.evidence_spans, "answer_spans": g.answer_spans, "raw": g.raw}
        gt, query, captions = ground_truth(s)
        if captions is not None:
            meta["gt_captions"] = captions
        preds.append(Prediction(id=s.id, benchmark=benchmark, answer=g.answer, duration=s.duration, gt=gt,
                                windows=g.answer_spans or g.evidence_spans, query=query, video=s.video,
                                model=elm.lm.name, timestamps=strategy, frame_times=ex.frame_times,
                                meta=meta))
    write_jsonl(out, preds)
    return preds
