"""``tempoforge eval score`` and ``tempoforge eval report``: offline scoring of saved predictions."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from tempoforge.cli_parts import add_command

__all__ = ["register"]

log = logging.getLogger(__name__)


def _common(p: argparse.ArgumentParser) -> None:
    from tempoforge.eval.benchmarks import BENCHMARKS, NAMES, benchmark_help

    p.add_argument("--benchmark", required=True, choices=NAMES, help=benchmark_help())
    p.add_argument("--pred", required=True, type=Path, help="the predictions / submission file")
    p.add_argument(
        "--gt",
        action="append",
        default=[],
        type=Path,
        help="ground-truth file (repeat for several densevid reference files); not needed when the "
        f"predictions carry their GT ({', '.join(b.name for b in BENCHMARKS.values() if b.gt == 'none')})",
    )
    p.add_argument(
        "--convention",
        default=None,
        choices=list(dict.fromkeys(c for b in BENCHMARKS.values() for c in b.choices)),
        help="scoring convention: "
        + "; ".join(f"{b.name}: {b.choices[0]} (default), {', '.join(b.choices[1:])}"
                    for b in BENCHMARKS.values() if b.choices)
        + " (each explained below)",
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
    from tempoforge.eval.benchmarks import find_benchmark
    from tempoforge.eval.score import score

    flags = {
        "tious": args.tious,
        "captions": not args.no_captions,
        "soda": not args.no_soda,
        "soda_multi_reference": args.soda_multi_reference,
        "seed": args.seed,
    }
    options = {k: v for k, v in flags.items() if k in find_benchmark(args.benchmark).options}
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
    from tempoforge.eval.benchmarks import conventions_epilog

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
        epilog=conventions_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sc.set_defaults(func=_score)
    rp = add_command(
        evsub, "report", _report_arguments,
        help="write a static HTML report with plots",
        description="Score a prediction file and write one self-contained HTML page: metrics table, "
        "timelines of GT vs predicted spans for the best and worst queries, the IoU distribution and "
        "parse-failure examples (matplotlib PNGs embedded).",
        epilog=conventions_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rp.set_defaults(func=_report)
