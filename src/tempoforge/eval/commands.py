"""``tempoforge eval score`` and ``tempoforge eval report``: offline scoring of saved predictions."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from tempoforge.cli_parts import add_command

__all__ = ["register"]

log = logging.getLogger(__name__)

_BENCH_HELP = (
    "charades-sta: prediction JSONL of tempoforge Prediction records ({id, duration, gt, answer|pred}); "
    "qvhighlights: moment_detr submission JSONL + --gt GT JSONL; dense-captioning: densevid submission "
    "JSON + one --gt per reference file; etbench: E.T.Bench sample list with answers in 'a'; mcq: "
    "JSONL of {id, answer, gt, options?, category?}. Dataset names are accepted for their scorer: grounding, "
    "tempoworld, timechat-tvg -> charades-sta; activitynet-captions, youcook2 -> dense-captioning"
)


_CONVENTIONS_EPILOG = """\
conventions (--convention):
  charades-sta (one window per query; every query in the denominator):
    etchat         default. E.T.Chat eval_grounding.py: E.T.Bench's parser, float32 union IoU (so
                   [0, 7] vs [0, 10] misses 0.7). Keys R@0.3 R@0.5 R@0.7 mIoU (fractions, 3 dp), Failed.
    lmms-eval-tvg  lmms-eval's standalone charades_sta/eval_tvg.py, quirks included: every "to" becomes
                   "-", and ONLY sentences (split on ! ? newline) containing start/end/happen... are read:
                   the "a - b" ranges of the first such sentence, else the first number of each such
                   sentence paired, else "12s - 15s". So "7 - 14", "From 4.0 to 11.0 seconds.", a
                   one-sentence "starts at X and ends at Y", a single time and a refusal are invalid, and an
                   invalid answer is replaced by the fixed window [gt_end + 10, gt_end + 20] (IoU 0).
                   Hull IoU. Keys as the script prints them: IOU 0.3 IOU 0.5 IOU 0.7 mIOU (percent,
                   unrounded), plus Failed (replaced answers).
    lmms-eval      lmms-eval in-harness charades_sta/utils.py: hull IoU, unparseable -> IoU 0 and bad_pred.
                   Keys IOU@3 IOU@5 IOU@7 mIOU (percent, unrounded), bad_pred.
    strict         tempoforge's own lenient parser (ranges, "from X to Y", "starts at X ... ends at Y",
                   clocks, JSON; refusals recognised), max IoU over all GT spans, refusals and parse
                   failures counted apart, irrelevant queries scored as refusal accuracy.
                   Keys R1@0.3 R1@0.5 R1@0.7 mIoU (fractions).
  mcq: mcq (default) or vinoground.
  dense-captioning has one convention: densevid_eval P/R/F1 and caption scores, and SODA_c as fujiso/SODA
    soda.py (METEOR with the GT sentence as hypothesis, type c; videos in both files only; references
    merged unless --soda-multi-reference).
The metrics JSON and the report name the convention used ("convention"; SODA_c.multi_reference).
"""


def _common(p: argparse.ArgumentParser) -> None:
    from tempoforge.eval.names import NAMES
    from tempoforge.eval.score import CONVENTIONS

    p.add_argument("--benchmark", required=True, choices=NAMES, help=_BENCH_HELP)
    p.add_argument("--pred", required=True, type=Path, help="the predictions / submission file")
    p.add_argument(
        "--gt",
        action="append",
        default=[],
        type=Path,
        help="ground-truth file (repeat for several densevid reference files); not needed when the "
        "predictions carry their GT (charades-sta, etbench)",
    )
    p.add_argument(
        "--convention",
        default=None,
        choices=list(dict.fromkeys(c for convs in CONVENTIONS.values() for c in convs)),
        help="scoring convention: charades-sta: etchat (default), lmms-eval-tvg, lmms-eval, strict; "
        "mcq: mcq (default) or vinoground (each explained below)",
    )
    p.add_argument(
        "--tious",
        type=float,
        nargs="+",
        default=None,
        help="dense-captioning tIoU thresholds (default 0.3 0.5 0.7 0.9)",
    )
    p.add_argument("--no-captions", action="store_true", help="dense-captioning: skip caption scores")
    p.add_argument("--no-soda", action="store_true", help="dense-captioning: skip SODA_c")
    p.add_argument(
        "--soda-multi-reference",
        action="store_true",
        help="dense-captioning: SODA_c scores each --gt file alone and keeps, per video, the file with the "
        "best F (soda.py --multi_reference). Default, as soda.py: off, the files' events are merged into "
        "one reference sorted by start",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the garbage captions for unmatched predictions"
    )


def _run(args: argparse.Namespace) -> object:
    from tempoforge.eval.names import scorer_for
    from tempoforge.eval.score import score

    options = {}
    if scorer_for(args.benchmark) == "dense-captioning":
        options = {
            "tious": args.tious,
            "captions": not args.no_captions,
            "soda": not args.no_soda,
            "soda_multi_reference": args.soda_multi_reference,
            "seed": args.seed,
        }
    t0 = time.perf_counter()
    result = score(args.benchmark, args.pred, args.gt, convention=args.convention, **options)
    log.info("scored %s in %.2f s", args.pred, time.perf_counter() - t0)
    return result


def _score(args: argparse.Namespace) -> int:
    from tempoforge.eval.score import format_table, write_metrics

    result = _run(args)
    print(format_table(result))  # type: ignore[arg-type]
    if args.out:
        write_metrics(args.out, result)  # type: ignore[arg-type]
        print(f"wrote {args.out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from tempoforge.eval.report import write_report

    result = _run(args)
    write_report(args.out, result, top_k=args.top_k, source=str(args.pred))  # type: ignore[arg-type]
    print(f"wrote {args.out}")
    return 0


def _score_arguments(sc: argparse.ArgumentParser) -> None:
    _common(sc)
    sc.add_argument("--out", type=Path, default=None, help="write the metrics JSON here (atomic)")


def _report_arguments(rp: argparse.ArgumentParser) -> None:
    _common(rp)
    rp.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    rp.add_argument("--top-k", type=int, default=8, help="how many best / worst queries to draw")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``eval score`` and ``eval report``."""
    ev = sub.add_parser(
        "eval",
        help="score predictions against official benchmark conventions; HTML reports",
        description="Score saved predictions offline, exactly as each benchmark's official scorer does.",
    )
    evsub = ev.add_subparsers(dest="eval_command", metavar="SUBCOMMAND", title="subcommands")
    sc = add_command(
        evsub, "score", _score_arguments,
        help="print a metrics table and write metrics JSON",
        description="Score a prediction file under the benchmark's official convention; prints a table and "
        "optionally writes the metrics (official key names and nesting) as JSON, atomically.",
        epilog=_CONVENTIONS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sc.set_defaults(func=_score)
    rp = add_command(
        evsub, "report", _report_arguments,
        help="write a static HTML report with plots",
        description="Score a prediction file and write one self-contained HTML page: metrics table, "
        "timelines of GT vs predicted spans for the best and worst queries, the IoU distribution and "
        "parse-failure examples (matplotlib PNGs embedded).",
        epilog=_CONVENTIONS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rp.set_defaults(func=_report)
