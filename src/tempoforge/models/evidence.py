"""D2VLM evidence tokens on a Qwen-family video LLM (METHODS.md 3.1-3.2, paper 002 "D2VLM").

A response is ``<evi> ... <evi></evi> <evi> text. <evi> text.``: an evidence part (one ``<evi>`` per event,
closed by ``</evi>``), then the answer part that refers to event k by its own ``<evi>``. Every ``<evi>`` is
grounded by similarity to the video's frames, and carries the visual semantics of the frames it grounds.

Frames ("units"). Qwen-VL merges ``temporal_patch_size`` (2) frames into one temporal patch group in video
mode, so the finest per-time feature the LLM has is per *group*: with the ``mrope`` / ``text`` strategies
(and Qwen3-VL's native form) a unit is one temporal group (``h * w`` merged tokens), with
``frames-as-images`` a unit is one frame (one image block). A unit's feature is the mean of its tokens'
hidden states; unit ``u`` covers ``[start_u, start_{u+1})`` (the last one ends one frame interval after its
last frame). A span ``[s, e]`` covers the units with at least half their length inside it (at least one:
the unit of largest overlap), so targets, predictions and "halves per frame" distances are in units.

Mechanics (``h`` = hidden size, ``d = h`` the head output size)::

    frame_t = FrameHead(mean of hidden_states[-2] over unit t's tokens)          (U, d)
    evi_k   = EviHead(hidden_states[-2] at the position that *generates* <evi>_k) (K, d)
    sim     = evi @ frame.T / sqrt(d)                                            (K, U)
    y[k,t]  = 2 ** -dist(t, units of span_k)        1 inside, 0.5 one unit outside, ...
    L_gnd   = 10 * mean BCEWithLogits(sim, y)        every <evi> of both parts
    L_cons  = 10 * mean |evi_k(evidence part) - evi_k(answer part)|
    embed(<evi>_k) = e_evi + mean(hidden_states[inject_layer] over the units of span_k)
    heads: LayerNorm -> Linear(h, h/2) -> GELU -> Linear(h/2, h)

Deviation, stated: the query of ``<evi>_k`` is the hidden state of the position whose next-token logits
produce ``<evi>_k`` (the state "that generates" it), not the state at ``<evi>_k`` itself — the latter has
the injected ground-truth span features in its input under teacher forcing and would read the answer off
its own input; the generating state is also what exists at inference when ``<evi>`` is sampled, before its
embedding (which needs the predicted span) is built.

Encoding: the (video + prompt) prefix is encoded once with the KV cache; the responses continue it with
``inputs_embeds`` (the injected ``<evi>`` embeddings need the prefix's intermediate-layer frame features,
so a response cannot be embedded before the prefix is encoded). Several responses of one prompt (FPO's
chosen and rejected) share that one prefix encoding. ``tests/d2vlm`` checks this equals one full forward
per response, values and gradients.

New-token parameters: ``<evi>`` / ``</evi>`` get their own input rows and output (lm-head) rows in
``EvidenceHeads`` (trainable under LoRA, saved with the heads); the model's vocabulary is resized only
when the ids do not fit (real Qwen checkpoints have spare rows).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tempoforge.errors import UserError
from tempoforge.models.evidence_settings import EvidenceSettings
from tempoforge.models.inputs import IGNORE_INDEX, Example, build_example, collate
from tempoforge.models.kv_cache import cache_kwargs, output_cache
from tempoforge.models.logps import token_logps, truncate_to_prompt
from tempoforge.records import Frames, Span

__all__ = [
    "ANSWER",
    "EVI",
    "EVIDENCE",
    "EVI_END",
    "EvidenceExample",
    "EvidenceForward",
    "EvidenceHeads",
    "EvidenceModel",
    "EvidenceSettings",
    "best_run",
    "build_evidence_example",
    "consistency_loss",
    "grounding_log_prob",
    "grounding_loss",
    "load_evidence_model",
    "save_evidence_model",
    "soft_targets",
    "span_units",
    "unit_bounds",
]

EVI, EVI_END = "<evi>", "</evi>"
EVIDENCE, ANSWER = 0, 1  # the part an <evi> occurrence belongs to


# ---------------------------------------------------------------------------------------- pure time math
def unit_bounds(frame_times: Sequence[float], n_units: int) -> np.ndarray:
    """``(U, 2)`` time interval of each unit: ``ceil(N / U)`` consecutive frames per unit (module docstring)."""
    t = np.asarray(frame_times, dtype=np.float64)
    if n_units < 1 or len(t) == 0:
        raise ValueError(f"need frames and units, got {len(t)} frames and {n_units} units")
    per = math.ceil(len(t) / n_units)
    starts = t[::per]
    if len(starts) != n_units:
        raise ValueError(f"{len(t)} frames do not split into {n_units} units of {per} frames")
    step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    ends = np.append(starts[1:], t[-1] + step)
    return np.stack([starts, ends], axis=1)


def span_units(span: Span | tuple[float, float], bounds: np.ndarray) -> tuple[int, int]:
    """First and last unit of a span: units at least half inside it, else the unit of largest overlap."""
    s, e = (span.start, span.end) if isinstance(span, Span) else (float(span[0]), float(span[1]))
    overlap = np.clip(np.minimum(bounds[:, 1], e) - np.maximum(bounds[:, 0], s), 0.0, None)
    length = bounds[:, 1] - bounds[:, 0]
    inside = np.flatnonzero(overlap >= 0.5 * length - 1e-9)
    if len(inside) == 0:
        if overlap.max() > 0:
            k = int(np.argmax(overlap))
        else:  # a zero-length span or one outside the sampled range: the nearest unit
            k = int(np.argmin(np.abs((bounds[:, 0] + bounds[:, 1]) / 2 - (s + e) / 2)))
        return k, k
    return int(inside[0]), int(inside[-1])


def soft_targets(units: Sequence[tuple[int, int]], n_units: int) -> torch.Tensor:
    """``y[k, t] = 2 ** -dist(t, [first_k, last_k])`` in units: 1 inside, halving per unit outside."""
    t = torch.arange(n_units, dtype=torch.float32)
    rows = []
    for first, last in units:
        dist = torch.clamp(first - t, min=0) + torch.clamp(t - last, min=0)
        rows.append(torch.pow(2.0, -dist))
    return torch.stack(rows) if rows else torch.zeros(0, n_units)


def grounding_loss(sim: torch.Tensor, y: torch.Tensor, weight: float = 10.0) -> torch.Tensor:
    """``L_gnd = weight * mean BCEWithLogits(sim, y)`` over every (evi, unit) entry."""
    return weight * F.binary_cross_entropy_with_logits(sim.float(), y.float())


def consistency_loss(evidence: torch.Tensor, answer: torch.Tensor, weight: float = 10.0) -> torch.Tensor:
    """``L_cons = weight * mean |evi_k(evidence part) - evi_k(answer part)|`` (L1, mean over k and dims)."""
    return weight * F.l1_loss(evidence.float(), answer.float())


def grounding_log_prob(sim: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``sum_t log(y * sigmoid(sim) + (1 - y) * (1 - sigmoid(sim)) + 1e-10)`` per row (METHODS.md 3.3).

    With hard targets (``y`` in {0, 1}) this is the paper's ``log p_g([s_k, e_k])``; METHODS uses the
    soft targets of 3.2, which we follow.
    """
    p = torch.sigmoid(sim.float())
    return torch.log(y * p + (1 - y) * (1 - p) + 1e-10).sum(-1)


def best_run(p: torch.Tensor | Sequence[float], ratio: float = 0.6) -> tuple[int, int]:
    """Units with ``p >= ratio * max(p)``, grouped into contiguous runs; the run of largest summed ``p``
    (earliest on ties) as ``(first, last)``. The run holding the maximum always qualifies."""
    x = np.asarray(p.detach().float().cpu() if isinstance(p, torch.Tensor) else p, dtype=np.float64)
    keep = x >= ratio * x.max()
    best, best_mass, i = (0, 0), -1.0, 0
    while i < len(x):
        if not keep[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(x) and keep[j + 1]:
            j += 1
        mass = float(x[i:j + 1].sum())
        if mass > best_mass + 1e-12:
            best, best_mass = (i, j), mass
        i = j + 1
    return best


# ------------------------------------------------------------------------------------------- examples
@dataclass
class EvidenceExample:
    """A tokenised example with its evidence layout: ``evi`` rows are ``(position, part, k, first, last)``
    (position in ``example.input_ids``; ``k`` the event index; the span's units ``first..last``)."""

    example: Example
    bounds: np.ndarray  # (U, 2) unit time intervals
    evi: list[tuple[int, int, int, int, int]]
    spans: list[Span]


def _units_of(example: Example) -> list[torch.Tensor]:
    """Token indices (in ``example.input_ids``) of every unit, in time order."""
    pos = torch.nonzero(example.mm_token_type_ids != 0).flatten()
    out, i = [], 0
    for seg in example.segments:
        t, h, w = seg.grid
        for _ in range(t):
            out.append(pos[i:i + h * w])
            i += h * w
    return out


def build_evidence_example(elm: EvidenceModel, prompt: str, frames: Frames, timestamps: str, response: str,
                           spans: Sequence[Span], **kwargs: Any) -> EvidenceExample:
    """``build_example`` plus the evidence layout of ``response`` (``render_response(..., "d2vlm")`` text).

    The evidence part must hold one ``<evi>`` per span; answer-part ``<evi>`` number j refers to span j.
    """
    ex = build_example(elm.lm, prompt, frames, timestamps, answer=response, **kwargs)
    return _layout(elm, ex, list(spans), response)


def _layout(elm: EvidenceModel, ex: Example, spans: list[Span], response: str) -> EvidenceExample:
    n_units = sum(seg.grid[0] for seg in ex.segments)
    bounds = unit_bounds(ex.frame_times, n_units)
    ids = ex.input_ids.tolist()
    evi_id, end_id = elm.token_ids
    part, counts, rows = EVIDENCE, [0, 0], []
    for p in range(ex.prompt_length, len(ids)):
        if ids[p] == end_id:
            part = ANSWER
        elif ids[p] == evi_id:
            k = counts[part]
            counts[part] += 1
            if k >= len(spans):
                raise UserError(f"response has more <evi> in its {'evidence' if part == EVIDENCE else 'answer'} "
                                f"part than the {len(spans)} spans given: {response[:80]!r}")
            first, last = span_units(spans[k], bounds)
            rows.append((p, part, k, first, last))
    if counts[EVIDENCE] != len(spans):
        raise UserError(f"the evidence part has {counts[EVIDENCE]} <evi> for {len(spans)} spans: {response[:80]!r}")
    return EvidenceExample(ex, bounds, rows, spans)


# ---------------------------------------------------------------------------------------------- model
def _head(h: int) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(h), nn.Linear(h, h // 2), nn.GELU(), nn.Linear(h // 2, h))


class EvidenceHeads(nn.Module):
    """The frame and evidence heads, and the input / output rows of ``<evi>`` and ``</evi>``."""

    def __init__(self, hidden: int, init_embed: torch.Tensor | None = None, init_out: torch.Tensor | None = None):
        super().__init__()
        self.frame = _head(hidden)
        self.evi = _head(hidden)
        self.token_embed = nn.Parameter(init_embed.clone().float() if init_embed is not None
                                        else torch.randn(2, hidden) * 0.02)
        self.token_out = nn.Parameter(init_out.clone().float() if init_out is not None
                                      else torch.randn(2, hidden) * 0.02)


@dataclass
class EvidenceForward:
    """What one shared-prefix forward returns (row ``r`` = prefix ``r // n``, continuation ``r % n``)."""

    token_logps: torch.Tensor  # (R, Lc) zero outside the mask
    mask: torch.Tensor  # (R, Lc) bool
    sims: list[torch.Tensor]  # per row (K_r, U) similarity logits of each <evi> occurrence
    targets: list[torch.Tensor]  # per row (K_r, U) soft targets
    queries: list[torch.Tensor]  # per row (K_r, d) evi head outputs
    layout: list[list[tuple[int, int, int, int, int]]]  # per row: the example's ``evi`` rows
    frame_feats: list[torch.Tensor]  # per prefix (U, h) intermediate-layer unit features


class EvidenceModel(nn.Module):
    """A Qwen-VL model (plain or PEFT) with evidence heads; ``lm`` is the ``LoadedModel`` it came from."""

    def __init__(self, lm: Any, settings: EvidenceSettings | None = None, heads: EvidenceHeads | None = None):
        super().__init__()
        self.settings = settings or EvidenceSettings()
        tok = lm.tokenizer
        tok.add_tokens([EVI, EVI_END], special_tokens=True)
        ids = tok.convert_tokens_to_ids([EVI, EVI_END])
        self.token_ids: tuple[int, int] = (int(ids[0]), int(ids[1]))
        model = lm.model
        if max(self.token_ids) >= model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(tok), mean_resizing=False)
        hidden = int(model.config.get_text_config().hidden_size)
        layers = int(model.config.get_text_config().num_hidden_layers)
        if not 0 <= self.settings.inject_layer <= layers:
            raise UserError(f"inject_layer must be in 0..{layers} for this model, got {self.settings.inject_layer}")
        self.hidden = hidden
        self.lm = lm
        self.model = model
        if heads is None:
            n_old = min(self.token_ids)
            # a neutral start: the mean input row and the mean output row of the existing vocabulary, summed in
            # float32 without a float32 copy of the (V, h) matrices (2 x 2 GiB for a 7B model)
            emb = model.get_input_embeddings().weight.detach()[:n_old].sum(0, dtype=torch.float32) / n_old
            out = model.get_output_embeddings().weight.detach()[:n_old].sum(0, dtype=torch.float32) / n_old
            heads = EvidenceHeads(hidden, emb.expand(2, -1), out.expand(2, -1))
            heads.to(device=next(model.parameters()).device)
        self.heads = heads
        self.video: dict[str, Any] = {}  # the sampling the model was trained with (set on load)

    @property
    def config(self) -> Any:  # what transformers.Trainer reads
        return self.model.config

    def attach(self, model: Any) -> None:
        """Swap in a wrapped model (e.g. the PEFT model from ``apply_lora``)."""
        self.model = model
        self.lm.model = model

    # ------------------------------------------------------------------------------------- embeddings
    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        emb = self.model.get_input_embeddings()
        evi, end = self.token_ids
        base = emb(ids.clamp(max=emb.weight.shape[0] - 1))
        new = (ids == evi) | (ids == end)
        rows = self.heads.token_embed.to(base.dtype)
        add = torch.where((ids == evi)[..., None], rows[0], rows[1])
        return torch.where(new[..., None], add, base)

    def _logits(self, logits: torch.Tensor, final_hidden: torch.Tensor) -> torch.Tensor:
        """The model's logits with the ``<evi>`` / ``</evi>`` columns from our own output rows."""
        new = final_hidden.float() @ self.heads.token_out.T  # (..., 2)
        v = logits.shape[-1]
        evi, end = self.token_ids
        if max(evi, end) >= v:
            raise RuntimeError("the new token ids must fit the model's vocabulary (resize_token_embeddings)")
        out = logits.float().clone()
        out[..., evi] = new[..., 0]
        out[..., end] = new[..., 1]
        return out

    def frame_features(self, hidden_states: Sequence[torch.Tensor], units: list[torch.Tensor],
                       row: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(keys (U, d) = FrameHead(pooled hidden_states[-2]), features (U, h) pooled at ``inject_layer``)."""
        pool = torch.zeros(len(units), hidden_states[-2].shape[1], device=hidden_states[-2].device)
        for u, idx in enumerate(units):
            pool[u, idx.to(pool.device)] = 1.0 / len(idx)
        keys = self.heads.frame(pool @ hidden_states[-2][row].float())
        feats = pool @ hidden_states[self.settings.inject_layer][row].float()
        return keys, feats

    def similarity(self, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """``sim = evi . frame / sqrt(d)``, (K, U)."""
        return queries @ keys.T / math.sqrt(keys.shape[-1])

    # ---------------------------------------------------------------------------------------- forward
    def forward_groups(self, groups: Sequence[Sequence[EvidenceExample]], *, pad_token_id: int) -> EvidenceForward:
        """Encode each prefix once, continue it with each of its responses (teacher forcing, GT spans).

        ``groups[i]`` are examples of the same prompt and frames with different responses; every group has
        the same number ``n`` of responses.
        """
        n = len(groups[0])
        if any(len(g) != n for g in groups):
            raise ValueError("every prefix needs the same number of continuations")
        heads = [g[0].example for g in groups]
        for g in groups:
            p = g[0].example.prompt_length
            for other in g[1:]:
                if other.example.prompt_length != p or not torch.equal(other.example.input_ids[:p],
                                                                       g[0].example.input_ids[:p]):
                    raise ValueError("continuations of one prefix must share its prompt tokens")
        prefix = collate([truncate_to_prompt(e) for e in heads], pad_token_id=pad_token_id, padding_side="left")
        prefix.pop("labels", None)
        device = next(self.model.parameters()).device
        dtype = self.model.get_input_embeddings().weight.dtype
        prefix = {k: (v.to(device, dtype) if k.startswith("pixel_values") else v.to(device))
                  for k, v in prefix.items()}
        out = self.model(**prefix, use_cache=True, output_hidden_states=True)
        lp = prefix["input_ids"].shape[1]
        keys, feats = [], []
        for i, e in enumerate(heads):
            shift = lp - e.prompt_length
            units = [u + shift for u in _units_of(e)]
            k_, f_ = self.frame_features(out.hidden_states, units, i)
            keys.append(k_)
            feats.append(f_)
        conts = [x for g in groups for x in g]
        lc = max(len(x.example.input_ids) - x.example.prompt_length for x in conts)
        rows = len(conts)
        ids = torch.full((rows, lc), pad_token_id, dtype=torch.long)
        pos = torch.zeros((3, rows, lc), dtype=torch.long)
        mask = torch.zeros((rows, lc), dtype=torch.bool)
        valid = torch.zeros((rows, lc), dtype=torch.bool)
        for r, x in enumerate(conts):
            e = x.example
            k = len(e.input_ids) - e.prompt_length
            ids[r, :k] = e.input_ids[e.prompt_length:]
            pos[:, r, :k] = e.position_ids[:, e.prompt_length:]
            valid[r, :k] = True
            mask[r, :k] = e.labels[e.prompt_length:] != IGNORE_INDEX if e.labels is not None else True
        ids, pos, mask, valid = ids.to(device), pos.to(device), mask.to(device), valid.to(device)
        emb = self._embed(ids)
        if self.settings.inject:
            emb = emb + self._injection(conts, feats, n, emb)
        attn = torch.cat([prefix["attention_mask"].repeat_interleave(n, 0), valid.long()], dim=1)
        cache = output_cache(out)
        if n > 1:
            cache.batch_repeat_interleave(n)
        out2 = self.model(inputs_embeds=emb, attention_mask=attn, position_ids=pos, **cache_kwargs(self.model, cache),
                          mm_token_type_ids=torch.zeros_like(ids), use_cache=True, output_hidden_states=True)
        rep = lambda t: t[:, -1:].repeat_interleave(n, 0)  # noqa: E731  the prefix's last position, per row
        final = torch.cat([rep(out.hidden_states[-1]), out2.hidden_states[-1][:, :-1]], dim=1)
        logits = torch.cat([rep(out.logits), out2.logits[:, :-1]], dim=1)
        logits = self._logits(logits, final)
        tlp = token_logps(logits, ids) * mask
        gen = torch.cat([rep(out.hidden_states[-2]), out2.hidden_states[-2][:, :-1]], dim=1)
        sims, targets, queries, layout = [], [], [], []
        for r, x in enumerate(conts):
            i = r // n
            p0 = x.example.prompt_length
            cols = torch.tensor([p - p0 for p, *_ in x.evi], dtype=torch.long, device=device)
            q = self.heads.evi(gen[r, cols].float())
            queries.append(q)
            sims.append(self.similarity(q, keys[i]))
            targets.append(soft_targets([(a, b) for *_, a, b in x.evi], len(keys[i])).to(device))
            layout.append(x.evi)
        return EvidenceForward(tlp, mask, sims, targets, queries, layout, feats)

    def _injection(self, conts: Sequence[EvidenceExample], feats: list[torch.Tensor], n: int,
                   emb: torch.Tensor) -> torch.Tensor:
        """Zeros except, at every ``<evi>``, the mean intermediate feature of its (GT) span's units."""
        r_idx, c_idx, vecs = [], [], []
        for r, x in enumerate(conts):
            for p, _part, _k, first, last in x.evi:
                r_idx.append(r)
                c_idx.append(p - x.example.prompt_length)
                vecs.append(feats[r // n][first:last + 1].mean(0))
        add = torch.zeros_like(emb)
        if not vecs:
            return add
        idx = (torch.tensor(r_idx, device=emb.device), torch.tensor(c_idx, device=emb.device))
        return add.index_put(idx, torch.stack(vecs).to(emb.dtype))

    def sft_losses(self, fwd: EvidenceForward, rows: Sequence[int] | None = None) -> dict[str, torch.Tensor]:
        r"""``ce`` (mean token NLL), ``gnd`` and ``cons`` over ``rows`` (default all); ``loss`` their sum.

        Sequence layout (two events; ``v`` = merged video tokens, ``|`` separates temporal groups = units)::

            prefix (video + prompt, encoded once)        response (teacher-forced, GT spans)
            <vs> v v v v | v v v v | v v v v <ve> q a    <evi> <evi> </evi> <evi> text. <evi> text. <im_end>
                 unit 0    unit 1    unit 2               ev 0  ev 1        ans 0       ans 1
                                                         \__ evidence __/  \______ answer part ______/

            frame_t = FrameHead(hidden[-2] pooled over unit t)
            evi_k   = EviHead(hidden[-2] of the token BEFORE each <evi>)   (the state that generates it)
            embed(<evi> of ev k and ans k) += hidden[inject_layer] pooled over the units of span_k

            L = CE(every response token)
              + 10 * mean BCEWithLogits(evi_k . frame_t / sqrt(d), 2 ** -dist(t, span_k))   (all four <evi>)
              + 10 * mean |evi_k(ev k) - evi_k(ans k)|                                     (k = 0, 1)
        """
        rows = list(range(len(fwd.sims))) if rows is None else list(rows)
        m = fwd.mask[rows]
        ce = -(fwd.token_logps[rows].sum() / m.sum().clamp(min=1))
        sim = torch.cat([fwd.sims[r].flatten() for r in rows])  # videos differ in their number of units
        y = torch.cat([fwd.targets[r].flatten() for r in rows])
        zero = ce.new_zeros(())
        gnd = grounding_loss(sim, y, self.settings.gnd_weight) if sim.numel() else zero
        ev, an = [], []
        for r in rows:
            by_part: dict[tuple[int, int], int] = {(part, k): j for j, (_, part, k, *_rest) in enumerate(fwd.layout[r])}
            for (part, k), j in by_part.items():
                if part == EVIDENCE and (ANSWER, k) in by_part:
                    ev.append(fwd.queries[r][j])
                    an.append(fwd.queries[r][by_part[(ANSWER, k)]])
        cons = consistency_loss(torch.stack(ev), torch.stack(an), self.settings.cons_weight) \
            if ev and self.settings.cons_weight > 0 else zero
        return {"loss": ce + gnd + cons, "ce": ce, "gnd": gnd, "cons": cons}

    def response_logps(self, fwd: EvidenceForward) -> torch.Tensor:
        """FPO's ``log pi(y)`` per row: token log-probs + grounding log-probs of the row's own spans."""
        tok = fwd.token_logps.sum(-1)
        gnd = torch.stack([grounding_log_prob(s, y).sum() if s.numel() else s.new_zeros(())
                           for s, y in zip(fwd.sims, fwd.targets)])
        return tok + gnd

    def forward(self, groups: Sequence[Sequence[EvidenceExample]], *, pad_token_id: int,
                sft_rows: Sequence[int] | None = None) -> dict[str, torch.Tensor]:
        """The training step's forward (what ``Trainer`` calls, through DDP / FSDP wrappers): the SFT losses
        over ``sft_rows`` (default every row), ``logps``, FPO's ``log pi(y)`` of every row, and ``token_logps``,
        its token part alone (plain, non-factorized DPO's ``log pi(y)``)."""
        fwd = self.forward_groups(groups, pad_token_id=pad_token_id)
        return {**self.sft_losses(fwd, sft_rows), "logps": self.response_logps(fwd),
                "token_logps": fwd.token_logps.sum(-1)}


# ------------------------------------------------------------------------------------------ save / load
HEADS_FILE, CONFIG_FILE = "evidence_heads.safetensors", "evidence_config.json"


def save_evidence_model(elm: EvidenceModel, out_dir: str | Path, *, base: str | Path | None = None,
                        video: dict[str, Any] | None = None) -> Path:
    """Save like an adapter: the PEFT adapter (or, after a full fine-tune, the whole model), the tokenizer
    with ``<evi>`` / ``</evi>``, ``evidence_heads.safetensors`` and ``evidence_config.json`` (the base model
    path, the settings, and the ``video`` sampling the model was trained with)."""
    import shutil

    from safetensors.torch import save_file

    from tempoforge.io.jsonl import atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    adapter = hasattr(elm.model, "peft_config")
    if adapter:
        base_path = Path(base) if base is not None else elm.lm.path
        if base_path is None:
            raise UserError("the base model has no directory to refer to; build or load it from a path "
                            "(build_tiny(..., out_dir=...)) before training an adapter on it")
        elm.model.save_pretrained(out)
        base_ref = str(Path(base_path).resolve())
    else:
        elm.model.save_pretrained(out)
        for name in ("preprocessor_config.json", "video_preprocessor_config.json"):
            src = elm.lm.path / name if elm.lm.path is not None else None
            if src is not None and src.is_file() and src.resolve() != (out / name).resolve():
                shutil.copyfile(src, out / name)
        base_ref = "."
    elm.lm.tokenizer.save_pretrained(out)
    save_file({k: v.detach().float().cpu().contiguous() for k, v in elm.heads.state_dict().items()},
              str(out / HEADS_FILE))
    cfg = {"format": "tempoforge-evidence/1", "tokens": [EVI, EVI_END], "hidden_size": elm.hidden,
           "base_model": base_ref, "adapter": adapter, "settings": asdict(elm.settings), "video": video or {}}
    atomic_write_text(out / CONFIG_FILE, json.dumps(cfg, indent=2))
    return out


def load_evidence_model(path: str | Path, *, dtype: str = "auto", device: str = "cpu",
                        base: str | Path | None = None, trainable: bool = False) -> EvidenceModel:
    """Load what :func:`save_evidence_model` wrote (``base`` overrides the recorded base model path;
    ``trainable`` keeps the adapter trainable, to continue training it, e.g. FPO after SFT)."""
    from safetensors.torch import load_file

    from tempoforge.models.load import load

    p = Path(path)
    cfg_file = p / CONFIG_FILE
    if not cfg_file.is_file():
        raise UserError(f"{p}: no {CONFIG_FILE}; not a tempoforge evidence model directory")
    try:
        cfg = json.loads(cfg_file.read_text())
        settings = EvidenceSettings(**cfg["settings"])
        base_ref = Path(base) if base is not None else Path(cfg["base_model"])
        adapter = bool(cfg["adapter"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise UserError(f"{cfg_file}: invalid evidence config ({exc})") from None
    if not base_ref.is_absolute():
        base_ref = p / base_ref
    lm = load(base_ref, dtype=dtype, device=device)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(p)
    if not getattr(tok, "chat_template", None):
        tok.chat_template = lm.tokenizer.chat_template
    lm.tokenizer = tok
    heads = EvidenceHeads(int(cfg["hidden_size"]))
    heads.load_state_dict(load_file(str(p / HEADS_FILE)))
    heads.to(device=lm.device)
    elm = EvidenceModel(lm, settings, heads)
    if adapter:
        from peft import PeftModel

        elm.attach(PeftModel.from_pretrained(elm.model, p, is_trainable=trainable))
        lm.adapter = p
    elm.eval()
    elm.video = dict(cfg.get("video") or {})
    return elm
