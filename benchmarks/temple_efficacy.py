"""TEMPLE efficacy on TempoWorld tiny (issue 7 "Measure"): does progressive DPO before SFT help, on held-out videos?

    .venv/bin/python benchmarks/temple_efficacy.py --out runs/bench_temple --seeds 0 1 2

From one shared base model, four arms with the same number of optimizer steps (4 x ``--stage-steps`` DPO +
``--sft-steps`` SFT, or all of them SFT):

- ``progressive``  TEMPLE: DPO r = 16 -> 8 -> 4 -> 2 (each stage on its own pairs, LoRA merged), then SFT;
- ``single``       one DPO stage on all pairs (4 x ``--stage-steps`` steps), then SFT (the paper's ablation);
- ``sft-dpo``      SFT first, then the progressive DPO stages (the paper's order ablation);
- ``sft-only``     SFT on the same SFT data for the same total number of steps (is it the DPO or the steps?).

Pipeline (everything reuses the demo's code, ``tempoforge.demo.stages``, so the numbers are the demo's):
1. ``stage_world``: TempoWorld tiny (one object, 2-3 events, 8-12 s), ``--train-videos`` + ``--heldout-videos``
   (held-out worlds use another seed: no held-out video is ever trained on);
2. ``stage_base``: a tiny Qwen2.5-VL trained from scratch (full fine-tune, ``--base-steps`` at batch
   ``--base-batch``) on every training grounding query and one chronological caption per video;
3. TEMPLE pairs on the training world (``tempoforge synth temple``, oracle captioner: drop / shuffle / reverse x
   r = 16, 8, 4, 2); SFT data = the pairs' chosen captions (``TempleConfig.sft_data`` default);
4. each arm x seed via ``run_temple`` (``schedule`` / ``order`` switches; seed = LoRA init + data order), the
   SFT-only arm via ``run_sft`` on the same SFT items; DPO beta 0.1, LoRA r 8 alpha 16, lr ``--lr``;
5. held-out evaluation (``tempoforge.demo.stages.evaluate``, fixed evaluation data whatever the seed):
   temporal = order preference, how often ``log p(true-order caption) > log p(perturbed caption)`` on
   reverse / shuffle pairs (r = 2, 4) of held-out videos, and its mean log-prob margin; general = single-moment
   grounding, predict + score under the ETChat convention (R@1 at IoU 0.3 / 0.5 / 0.7, mIoU). Chance for the
   grounding (best constant answer, DESIGN.md): R@0.7 0.195, mIoU 0.435 — read R@0.7, not mIoU.

Also evaluated (diagnostics): the ``progressive`` and ``single`` models after their last DPO stage, before SFT
(``... : after DPO`` rows), and every model's order preference on 128 *training* pairs of the probe's kinds
(``train_pref``: how well the pairs were fitted, against the held-out ``pref``: how well it generalises).

Writes ``OUT/results.json`` and prints a table (mean +- sd over seeds, and every seed). Every step is cached
under ``OUT`` (world, base, pairs, each arm's stages, each evaluation), so a rerun resumes. Not part of the test
suite: 5.5 minutes on 2 idle CPU cores with the defaults (measured: world + base 78 s, each DPO arm ~20 s,
SFT-only ~8 s, each evaluation ~3-5 s), up to ~14 minutes when other jobs share the cores. Deterministic: a
fresh run and a resumed one gave identical tables.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

ARMS = ("progressive", "single", "sft-dpo", "sft-only")


def _ctx(args: argparse.Namespace, out: Path) -> Any:
    from tempoforge.demo.config import DemoConfig
    from tempoforge.demo.stages import DemoContext

    cfg = DemoConfig(seed=args.world_seed, train_videos=args.train_videos, heldout_videos=args.heldout_videos,
                     base_steps=args.base_steps, base_batch=args.base_batch, stage_steps=args.stage_steps,
                     stage_batch=args.batch, dpo_lr=args.lr, sft_steps=args.sft_steps,
                     eval_queries=args.eval_queries, eval_pairs=args.eval_pairs)
    return DemoContext(out=out, config=cfg, quiet=True)


def prepare(ctx: Any) -> dict[str, Any]:
    """World, base model and training pairs (each cached under ``ctx.out``)."""
    from tempoforge.demo.stages import stage_base, stage_world
    from tempoforge.synth import temple as synth_temple
    from tempoforge.train.checkpoint import is_done, mark_done

    ctx.results["world"] = stage_world(ctx)
    base = ctx.out / "base"
    if is_done(base):
        ctx.results["base"] = json.loads((base / "tempoforge_stage_done.json").read_text())
    else:
        t0 = time.perf_counter()
        ctx.results["base"] = stage_base(ctx)
        ctx.results["base"]["seconds"] = time.perf_counter() - t0
        mark_done(base, **ctx.results["base"])
    pairs = ctx.out / "pairs.jsonl"
    if not (ctx.out / "pairs.done").is_file():
        args = argparse.Namespace(inp=str(Path(ctx.results["world"]["train"]) / "annotations" / "dense.jsonl"),
                                  out=str(pairs), model=None, ms_swift=None, limit=None, quiet=True, kinds=None,
                                  r=None, clips=8, seed=ctx.config.seed, captioner="oracle")
        synth_temple.main(args)
        (ctx.out / "pairs.done").write_text("ok\n")
    return {"pairs": str(pairs), "base": ctx.results["base"]["model"]}


def temple_config(ctx: Any, arm: str, seed: int, model: str, pairs: str, out: Path) -> Any:
    """The demo's TEMPLE settings (``stage_temple``) with the arm's schedule / order and the seed."""
    from tempoforge.demo.stages import _video
    from tempoforge.train.base import OptimSettings
    from tempoforge.train.dpo import DPOSettings
    from tempoforge.train.lora import LoraSettings
    from tempoforge.train.recipes.temple import TempleConfig
    from tempoforge.train.sft import SFTSettings

    cfg = ctx.config
    stage_steps = cfg.stage_steps * (4 if arm == "single" else 1)  # the same DPO steps in total
    dpo_opt = OptimSettings(learning_rate=cfg.dpo_lr, max_steps=stage_steps, batch_size=cfg.stage_batch,
                            warmup_ratio=0.0, seed=seed)
    sft_steps = cfg.sft_steps + (4 * cfg.stage_steps if arm == "sft-only" else 0)
    sft_opt = OptimSettings(learning_rate=cfg.dpo_lr, max_steps=sft_steps, batch_size=cfg.stage_batch,
                            warmup_ratio=0.0, seed=seed)
    return TempleConfig(
        model=model, pairs=pairs, out=str(out), seed=seed,
        schedule="single" if arm == "single" else "progressive",
        order="sft-dpo" if arm == "sft-dpo" else "dpo-sft",
        dpo=DPOSettings(beta=0.1, optim=dpo_opt, lora=LoraSettings(r=8, alpha=16, dropout=0.0), video=_video(cfg)),
        sft=SFTSettings(optim=sft_opt, lora=LoraSettings(r=8, alpha=8, train_vision=True), video=_video(cfg)),
    )


def train_arm(ctx: Any, arm: str, seed: int, model: str, pairs: str) -> tuple[str, dict[str, Any]]:
    """Train one arm from the base (resumable); returns the final checkpoint and the loss curves."""
    import torch

    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.records import PreferencePair
    from tempoforge.train.checkpoint import is_done, mark_done, resolve_model, save_checkpoint
    from tempoforge.train.recipes.temple import _sft_items, run_temple
    from tempoforge.train.sft import run_sft

    out = ctx.out / "arms" / f"{arm}_s{seed}"
    cfg = temple_config(ctx, arm, seed, model, pairs, out)
    torch.manual_seed(seed)  # LoRA initialisation
    if arm != "sft-only":
        res = run_temple(cfg)
        curves = {st: json.loads((out / st / "tempoforge_stage_done.json").read_text()) for st in res["stages"]}
        return res["final"], curves
    stage = out / "sft"
    if not is_done(stage):
        lm = resolve_model(model)
        items = _sft_items(cfg, list(read_jsonl(Path(pairs), PreferencePair)), Path(pairs).parent)
        r = run_sft(lm, items, cfg.sft, stage / "trainer")
        lm.model = r.model
        save_checkpoint(lm, stage)
        mark_done(stage, stage="sft", loss=r.losses)
    return str(stage), {"sft": {"loss": json.loads((stage / "tempoforge_stage_done.json").read_text())["loss"]}}


def train_probe_pairs(ctx: Any, pairs: str, limit: int = 128) -> list[Any]:
    """Training pairs of the held-out probe's kinds and difficulties (reverse / shuffle, r = 2, 4): the fit."""
    from tempoforge.io.jsonl import read_jsonl
    from tempoforge.records import PreferencePair

    keep = [p for p in read_jsonl(Path(pairs), PreferencePair) if p.kind in ("reverse", "shuffle") and p.r in (2, 4)]
    return keep[:limit]


def evaluate_cached(ctx: Any, tag: str, model_dir: str, train_pairs: list[Any]) -> dict[str, Any]:
    """``demo.stages.evaluate`` on the held-out world, plus the preference on training pairs (cached)."""
    from tempoforge.demo.stages import _video, evaluate
    from tempoforge.models.load import load
    from tempoforge.train.dpo import preference_accuracy

    path = ctx.out / f"eval_{tag}" / "bench_metrics.json"
    if path.is_file():
        return dict(json.loads(path.read_text()))
    m = {k: v for k, v in evaluate(ctx, tag, model_dir).items() if k != "rows"}
    m["train_preference"] = preference_accuracy(load(model_dir), train_pairs, _video(ctx.config))
    path.write_text(json.dumps(m, indent=1))
    return m


def headline(m: dict[str, Any]) -> dict[str, float]:
    """The compared numbers: order preference (overall, per kind, margin) and grounding (ETChat)."""
    et, pref = m["etchat"], m["preference"]
    out = {"pref": float(pref["accuracy"]), "pref_reverse": float(pref["by_kind"].get("reverse", float("nan"))),
           "pref_shuffle": float(pref["by_kind"].get("shuffle", float("nan"))), "margin": float(pref["margin"]),
           "train_pref": float(m["train_preference"]["accuracy"])}
    out.update({f"R@{t}": float(et[f"R@{t}"]) for t in ("0.3", "0.5", "0.7")})
    out["mIoU"] = float(et["mIoU"])
    return out


COLUMNS = ("pref", "pref_reverse", "pref_shuffle", "margin", "train_pref", "R@0.3", "R@0.5", "R@0.7", "mIoU")
# diagnostics: the model after the last DPO stage, before SFT
DPO_STAGE = {"progressive": "dpo_r2", "single": "dpo_all"}


def print_table(rows: dict[str, list[dict[str, float]]], seeds: list[int]) -> None:
    head = f"{'arm (held-out)':<24}" + "".join(f"{c:>15}" for c in COLUMNS)
    print("\n" + head + "\n" + "-" * len(head))
    for arm, vals in rows.items():
        cells = []
        for c in COLUMNS:
            xs = [v[c] for v in vals]
            sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
            cells.append(f"{statistics.fmean(xs):>8.3f}+-{sd:<5.3f}")
        print(f"{arm:<24}" + "".join(f"{x:>15}" for x in cells))
    print("\nper seed " + ", ".join(str(s) for s in seeds) + ":")
    for arm, vals in rows.items():
        print(f"{arm:<24}" + "  ".join("/".join(f"{v[c]:.3f}" for v in vals) for c in COLUMNS))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/bench_temple", help="work folder (everything is cached here)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds of every arm")
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS, help="arms to run")
    p.add_argument("--world-seed", type=int, default=0, help="seed of the worlds, pairs and base model")
    p.add_argument("--train-videos", type=int, default=160, help="training-world videos")
    p.add_argument("--heldout-videos", type=int, default=32, help="held-out-world videos")
    p.add_argument("--base-steps", type=int, default=700, help="base model steps (full fine-tune from scratch)")
    p.add_argument("--base-batch", type=int, default=16, help="base model batch")
    p.add_argument("--stage-steps", type=int, default=20, help="steps per progressive DPO stage")
    p.add_argument("--sft-steps", type=int, default=30, help="steps of the SFT stage")
    p.add_argument("--batch", type=int, default=8, help="batch of the DPO and SFT stages")
    p.add_argument("--lr", type=float, default=1e-3, help="learning rate of the DPO and SFT stages (LoRA)")
    p.add_argument("--eval-queries", type=int, default=1000, help="held-out grounding queries (at most)")
    p.add_argument("--eval-pairs", type=int, default=1000, help="held-out order-preference pairs (at most)")
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    import torch

    args = parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    ctx = _ctx(args, out)
    t0 = time.perf_counter()
    prep = prepare(ctx)
    print(f"world + base + pairs: {time.perf_counter() - t0:.0f} s (base model {prep['base']})", flush=True)
    results: dict[str, Any] = {"args": vars(args), "arms": {}}
    t = time.perf_counter()
    probe = train_probe_pairs(ctx, prep["pairs"])
    base = evaluate_cached(ctx, "base", prep["base"], probe)
    results["base"] = base
    rows: dict[str, list[dict[str, float]]] = {"base": [headline(base)] * len(args.seeds)}
    print(f"base evaluated: {time.perf_counter() - t:.0f} s {headline(base)}", flush=True)
    for arm in args.arms:
        rows[arm] = []
        for seed in args.seeds:
            t = time.perf_counter()
            final, curves = train_arm(ctx, arm, seed, prep["base"], prep["pairs"])
            t_train = time.perf_counter() - t
            m = evaluate_cached(ctx, f"{arm}_s{seed}", final, probe)
            rows[arm].append(headline(m))
            if arm in DPO_STAGE:
                mid = evaluate_cached(ctx, f"{arm}_s{seed}_{DPO_STAGE[arm]}", str(Path(final).parent / DPO_STAGE[arm]),
                                      probe)
                rows.setdefault(f"{arm}: after DPO", []).append(headline(mid))
            results["arms"][f"{arm}_s{seed}"] = {"metrics": m, "curves": curves, "model": final,
                                                 "train_s": t_train}
            print(f"{arm} seed {seed}: trained {t_train:.0f} s, total {time.perf_counter() - t:.0f} s "
                  f"{rows[arm][-1]}", flush=True)
    results["table"] = rows
    results["total_s"] = time.perf_counter() - t0
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print_table(rows, args.seeds)
    print(f"\ntotal {results['total_s']:.0f} s; results in {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
