"""The evidence model: layout, injection, shared-prefix forward == separate full forwards, save/load."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tempoforge.models.evidence import (
    ANSWER,
    EVIDENCE,
    EvidenceModel,
    EvidenceSettings,
    build_evidence_example,
    load_evidence_model,
    save_evidence_model,
)
from tempoforge.models.evidence_generate import generate_evidence
from tempoforge.models.inputs import build_example, collate
from tempoforge.models.tiny import build_tiny
from tempoforge.records import Frames, Span
from tempoforge.synth.factorized import EvidenceEvent, render_response
from tempoforge.train.fpo import prepare
from tempoforge.train.lora import LoraSettings

SPANS = [Span.of(1.5, 4.0), Span.of(5.0, 7.0)]


def _frames(seed: int, n: int = 8) -> Frames:
    rng = np.random.default_rng(seed)
    return Frames(rng.integers(0, 255, (n, 56, 56, 3), dtype=np.uint8), np.arange(float(n)))


def _response(spans: list[Span]) -> str:
    return render_response([EvidenceEvent(s, f"the red square appears {i}") for i, s in enumerate(spans)], "d2vlm")


def _model(family: str = "qwen2_5_vl", **kw: object) -> EvidenceModel:
    elm = EvidenceModel(build_tiny(family, seed=1), EvidenceSettings(inject_layer=1, **kw))  # type: ignore[arg-type]
    with torch.no_grad():  # non-trivial heads and <evi> rows
        for p in elm.heads.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return elm


def _video_units(ex) -> list[torch.Tensor]:
    """Token positions of each temporal group, from the grid alone (independent of the code under test)."""
    pos = torch.nonzero(ex.mm_token_type_ids == 2).flatten()
    per = ex.segments[0].grid[1] * ex.segments[0].grid[2]
    return [pos[i:i + per] for i in range(0, len(pos), per)]


def test_layout_of_a_response():
    elm = _model()
    x = build_evidence_example(elm, "When?", _frames(0), "mrope", _response(SPANS), SPANS)
    ids = x.example.input_ids.tolist()
    evi, end = elm.token_ids
    positions = [i for i, t in enumerate(ids) if t == evi]
    assert [r[0] for r in x.evi] == positions and len(positions) == 4
    assert ids[positions[1] + 1] == end  # <evi><evi></evi>
    # parts and event indices: evidence 0, 1 then answer 0, 1; units: 8 frames -> groups [0,2) [2,4) [4,6) [6,8)
    # [1.5, 4] -> unit 1 only; [5, 7] -> units 2..3
    assert [(r[1], r[2], r[3], r[4]) for r in x.evi] == [(EVIDENCE, 0, 1, 1), (EVIDENCE, 1, 2, 3),
                                                          (ANSWER, 0, 1, 1), (ANSWER, 1, 2, 3)]
    with pytest.raises(ValueError, match="evidence part has 2 <evi> for 3 spans"):
        build_evidence_example(elm, "When?", _frames(0), "mrope", _response(SPANS), [*SPANS, Span.of(0, 1)])


def test_injection_adds_exactly_the_mean_span_feature():
    elm = _model()
    x = build_evidence_example(elm, "When?", _frames(0), "mrope", _response(SPANS), SPANS)
    seen: list[torch.Tensor] = []

    def hook(module, args, kwargs):
        if kwargs.get("inputs_embeds") is not None:
            seen.append(kwargs["inputs_embeds"].detach().clone())

    h = elm.model.register_forward_pre_hook(hook, with_kwargs=True)
    with torch.no_grad():
        elm.forward_groups([[x]], pad_token_id=elm.lm.token_ids["pad"])
        elm.settings.inject = False
        elm.forward_groups([[x]], pad_token_id=elm.lm.token_ids["pad"])
    h.remove()
    diff = (seen[0] - seen[1])[0]
    # independent: layer-1 hidden states of the prompt, mean over the tokens of the span's groups
    ex = x.example
    batch = collate([build_example(elm.lm, "When?", _frames(0), "mrope")], pad_token_id=elm.lm.token_ids["pad"])
    with torch.no_grad():
        hs = elm.model(**batch, output_hidden_states=True).hidden_states[1][0]
    units = _video_units(ex)
    p0 = ex.prompt_length
    expected = torch.zeros_like(diff)
    for pos, _part, k, _f, _l in x.evi:
        groups = [1] if k == 0 else [2, 3]
        expected[pos - p0] = hs[torch.cat([units[g] for g in groups])].mean(0)
    torch.testing.assert_close(diff, expected, rtol=1e-5, atol=1e-5)
    assert int((diff.abs().sum(-1) > 0).sum()) == 4  # only the four <evi> positions change


def _reference(elm: EvidenceModel, x) -> tuple[torch.Tensor, torch.Tensor]:
    """One response, two plain full-sequence forwards: (sum of answer token log-probs, sim (K, U))."""
    ex = x.example
    m = elm.model
    batch = collate([ex], pad_token_id=elm.lm.token_ids["pad"], padding_side="right")
    batch.pop("labels")
    o1 = m(**batch, output_hidden_states=True)
    units = _video_units(ex)
    feats = torch.stack([o1.hidden_states[1][0, u].mean(0) for u in units])
    keys = elm.heads.frame(torch.stack([o1.hidden_states[-2][0, u].mean(0) for u in units]))
    ids = ex.input_ids
    evi, end = elm.token_ids
    rows = []
    for i, t in enumerate(ids.tolist()):
        if t == evi:
            _, _, _, f, last = next(r for r in x.evi if r[0] == i)
            rows.append(elm.heads.token_embed[0] + feats[f:last + 1].mean(0))
        elif t == end:
            rows.append(elm.heads.token_embed[1])
        else:
            rows.append(m.get_input_embeddings().weight[t])
    emb = torch.stack(rows)[None]
    kw = {k: v for k, v in batch.items() if k != "input_ids"}
    o2 = m(inputs_embeds=emb, **kw, output_hidden_states=True)
    logits = o2.logits[0].clone()
    new = o2.hidden_states[-1][0] @ elm.heads.token_out.T
    logits[:, evi], logits[:, end] = new[:, 0], new[:, 1]
    logp = torch.log_softmax(logits, -1)
    p0 = ex.prompt_length
    tok = sum(logp[j - 1, ids[j]] for j in range(p0, len(ids)))
    q = elm.heads.evi(torch.stack([o2.hidden_states[-2][0, r[0] - 1] for r in x.evi]))
    return tok, q @ keys.T / math.sqrt(keys.shape[-1])


@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_shared_prefix_equals_separate_forwards(family):
    elm = _model(family)
    elm.train()
    rejected = [Span.of(1.5, 4.0), Span.of(0.0, 1.0), Span.of(5.0, 7.0)]
    groups = []
    # two prefixes of different lengths (prompt and frames: 4 vs 3 temporal groups)
    for seed, prompt, n in ((0, "When?", 8), (1, "When is the red square visible?", 6)):
        fr = _frames(seed, n)
        groups.append([build_evidence_example(elm, prompt, fr, "mrope", _response(SPANS), SPANS),
                       build_evidence_example(elm, prompt, fr, "mrope", _response(rejected), rejected)])
    w = [torch.randn(len(x.evi), 4 if i < 2 else 3, generator=torch.Generator().manual_seed(i)) for i, x in
         enumerate(x for g in groups for x in g)]
    fwd = elm.forward_groups(groups, pad_token_id=elm.lm.token_ids["pad"])
    shared = fwd.token_logps.sum(-1)
    (shared.sum() + sum((s * wi).sum() for s, wi in zip(fwd.sims, w))).backward()
    g_shared = {n: p.grad.clone() for n, p in elm.named_parameters() if p.grad is not None}
    elm.zero_grad()
    total = 0.0
    for r, x in enumerate(x for g in groups for x in g):
        tok, sim = _reference(elm, x)
        torch.testing.assert_close(shared[r], tok, rtol=1e-5, atol=1e-4)
        torch.testing.assert_close(fwd.sims[r], sim, rtol=1e-4, atol=1e-4)
        total = total + tok + (sim * w[r]).sum()
    total.backward()
    assert len(g_shared) > 20
    # rows differ in units (4 vs 3): L_gnd is the mean over all (evi, unit) entries:
    # 4 evi x 4 + 6 evi x 4 + 4 evi x 3 + 6 evi x 3 = 70 entries
    assert sum(t.numel() for t in fwd.targets) == 70
    bce = sum(torch.nn.functional.binary_cross_entropy_with_logits(s, y, reduction="sum")
              for s, y in zip(fwd.sims, fwd.targets))
    torch.testing.assert_close(elm.sft_losses(fwd)["gnd"], 10 * bce / 70)

    for name, p in elm.named_parameters():
        if name in g_shared:
            torch.testing.assert_close(p.grad, g_shared[name], rtol=1e-3, atol=1e-5, msg=name)


def test_save_load_round_trip_with_adapter(tmp_path):
    lm = build_tiny("qwen2_5_vl", out_dir=tmp_path / "base", seed=2)
    elm = EvidenceModel(lm, EvidenceSettings(inject_layer=1, cons_weight=3.0))
    prepare(elm, LoraSettings(r=4, alpha=8, dropout=0.0))
    with torch.no_grad():
        for name, p in elm.named_parameters():
            if "lora_B" in name or name.startswith("heads."):
                p.add_(torch.randn_like(p) * 0.2)
    elm.eval()
    save_evidence_model(elm, tmp_path / "evi", video={"fps": 1.0})
    assert (tmp_path / "evi" / "adapter_config.json").is_file()
    back = load_evidence_model(tmp_path / "evi")
    assert back.settings.cons_weight == 3.0 and back.video == {"fps": 1.0}
    assert back.token_ids == elm.token_ids
    fr = _frames(3)
    pad = lm.token_ids["pad"]
    with torch.no_grad():
        a = elm.forward_groups([[build_evidence_example(elm, "When?", fr, "mrope", _response(SPANS), SPANS)]],
                               pad_token_id=pad)
        b = back.forward_groups([[build_evidence_example(back, "When?", fr, "mrope", _response(SPANS), SPANS)]],
                                pad_token_id=pad)
    torch.testing.assert_close(a.token_logps, b.token_logps)
    torch.testing.assert_close(a.sims[0], b.sims[0])
    ga = generate_evidence(elm, build_example(elm.lm, "When?", fr, "mrope"), max_new_tokens=12)
    gb = generate_evidence(back, build_example(back.lm, "When?", fr, "mrope"), max_new_tokens=12)
    assert ga == gb


def test_generation_grounds_each_evi_with_the_best_run():
    """Force <evi> as the first tokens (output row of <evi> made dominant) and check the printed span
    equals the best run of sigmoid(sim) recomputed from the prefix by hand."""
    elm = _model()
    elm.eval()
    fr = _frames(4)
    ex = build_example(elm.lm, "When?", fr, "mrope")
    with torch.no_grad():
        h_last = elm.model(**collate([ex], pad_token_id=elm.lm.token_ids["pad"]),
                         output_hidden_states=True).hidden_states[-1][0, -1]
        elm.heads.token_out[0] = h_last / h_last.norm() ** 2 * 1000.0  # logit of <evi> = 1000 at the first step
        elm.heads.frame[3].weight.mul_(40.0)  # spread the similarities so the threshold matters
    g = generate_evidence(elm, ex, max_new_tokens=3)
    assert g.raw.startswith("<evi>")
    assert g.evidence_spans and all(s[0] < s[1] for s in g.evidence_spans)
    with torch.no_grad():
        o = elm.model(**collate([ex], pad_token_id=elm.lm.token_ids["pad"]), output_hidden_states=True)
        units = _video_units(ex)
        keys = elm.heads.frame(torch.stack([o.hidden_states[-2][0, u].mean(0) for u in units]))
        q = elm.heads.evi(o.hidden_states[-2][0, -1])
        p = torch.sigmoid(q @ keys.T / math.sqrt(keys.shape[-1])).tolist()
    keep = [v >= 0.6 * max(p) for v in p]
    runs, i = [], 0
    while i < len(p):
        if keep[i]:
            j = i
            while j + 1 < len(p) and keep[j + 1]:
                j += 1
            runs.append((sum(p[i:j + 1]), -i, i, j))
            i = j + 1
        else:
            i += 1
    _, _, first, last = max(runs)
    assert (first, last) != (0, 3), f"p = {p} should not keep every unit"
    bounds = [[0, 2], [2, 4], [4, 6], [6, 8]]
    assert g.evidence_spans[0] == [bounds[first][0], bounds[last][1]]
