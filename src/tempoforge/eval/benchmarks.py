"""The benchmark table: one :class:`Benchmark` per scorer, read by ``predict``, ``eval score``, ``eval report``
and the studies.

An entry names what is needed to produce and score the benchmark's predictions: its canonical name (the
scorer's; written into the metrics and error messages), the dataset or task names accepted for it
(``aliases``), the prompt task ``predict`` uses (``models.prompts``; ``None`` when predict cannot write it),
the loader of its annotation file (``eval.loaders``), the scorer ``eval score`` calls, how many ``--gt``
files that scorer reads, the options it takes, and its conventions with their official headline keys.
Functions are ``"module:function"`` strings resolved on use, so importing the table (``tempoforge --help``)
imports nothing heavy.

Every name ``predict --benchmark`` takes is one of these, ``predict`` writes it into each prediction's
``benchmark`` field, and ``eval score --benchmark`` takes the same names (:func:`find_benchmark`); spelling is
forgiving (``Charades_STA`` is ``charades-sta``). A file whose ``benchmark`` field names another entry is
refused (``eval.checks``).
"""

from __future__ import annotations

import importlib
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tempoforge.errors import UserError

__all__ = ["BENCHMARKS", "NAMES", "Benchmark", "Convention", "benchmark_help", "conventions_epilog", "find_benchmark",
           "normalize_name", "predict_names", "resolve", "scorer_for"]


@dataclass(frozen=True)
class Convention:
    """A way a benchmark is officially scored: its name, the flattened keys of its headline metrics (as its
    scorer prints them, ``/`` between nesting levels), and what it does (``eval score --help``)."""

    name: str
    headline: tuple[str, ...]
    help: str


@dataclass(frozen=True)
class Benchmark:
    """One benchmark (see the module docstring)."""

    name: str
    title: str
    help: str
    aliases: tuple[str, ...]
    task: str | None
    loader: str
    scorer: str
    gt: Literal["none", "one", "many"]
    conventions: tuple[Convention, ...]
    options: tuple[str, ...] = ()
    about: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        """The canonical name, then the aliases."""
        return (self.name, *self.aliases)

    @property
    def choices(self) -> tuple[str, ...]:
        """The ``--convention`` values it takes (the first is the default); empty with only one convention."""
        return tuple(c.name for c in self.conventions) if len(self.conventions) > 1 else ()

    def convention(self, name: str | None = None) -> Convention:
        """The convention ``name`` (default: the first); a :class:`UserError` when it does not apply."""
        if name is None:
            return self.conventions[0]
        if name in self.choices:
            return next(c for c in self.conventions if c.name == name)
        raise UserError(f"--convention {name} does not apply to {self.name}; "
                        + (f"choose from {', '.join(self.choices)}" if self.choices
                           else f"{self.name} has only its official convention"))

    def load_scorer(self) -> Callable[..., Any]:
        """The ``eval score`` function: ``scorer(pred[, gt][, convention=...], **options) -> ScoreResult``."""
        return resolve(self.scorer)

    def load_annotations(self, path: Any, **kwargs: Any) -> Any:
        """Its annotation file read by :attr:`loader` (records, or the checked rows its scorer reads)."""
        return resolve(self.loader)(path, **kwargs)


def resolve(ref: str) -> Callable[..., Any]:
    """``"package.module:function"`` -> the function (the module is imported now)."""
    module, _, name = ref.partition(":")
    fn = getattr(importlib.import_module(module), name)
    if not callable(fn):
        raise TypeError(f"{ref} is not a function")
    return fn


_GROUNDING = (
    Convention("etchat", ("R@0.3", "R@0.5", "R@0.7", "mIoU"),
               "E.T.Chat eval_grounding.py: E.T.Bench's parser, float32 union IoU (so [0, 7] vs [0, 10] "
               "misses 0.7). Keys R@0.3 R@0.5 R@0.7 mIoU (fractions, 3 dp), Failed."),
    Convention("lmms-eval-tvg", ("IOU 0.3", "IOU 0.5", "IOU 0.7", "mIOU"),
               'lmms-eval\'s standalone charades_sta/eval_tvg.py, quirks included: every "to" becomes "-", and '
               "ONLY sentences (split on ! ? newline) containing start/end/happen... are read: the \"a - b\" "
               "ranges of the first such sentence, else the first number of each such sentence paired, else "
               '"12s - 15s". So "7 - 14", "From 4.0 to 11.0 seconds.", a one-sentence "starts at X and ends at '
               'Y", a single time and a refusal are invalid, and an invalid answer is replaced by the fixed '
               "window [gt_end + 10, gt_end + 20] (IoU 0). Hull IoU. Keys as the script prints them: IOU 0.3 "
               "IOU 0.5 IOU 0.7 mIOU (percent, unrounded), plus Failed (replaced answers)."),
    Convention("lmms-eval", ("IOU@3", "IOU@5", "IOU@7", "mIOU"),
               "lmms-eval in-harness charades_sta/utils.py: hull IoU, unparseable -> IoU 0 and bad_pred. Keys "
               "IOU@3 IOU@5 IOU@7 mIOU (percent, unrounded), bad_pred."),
    Convention("strict", ("R1@0.3", "R1@0.5", "R1@0.7", "mIoU"),
               "tempoforge's own lenient parser (ranges, \"from X to Y\", \"starts at X ... ends at Y\", clocks, "
               "JSON; refusals recognised), max IoU over all GT spans, refusals and parse failures counted "
               "apart, irrelevant queries scored as refusal accuracy. Keys R1@0.3 R1@0.5 R1@0.7 mIoU "
               "(fractions)."),
)

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (
    Benchmark(
        name="charades-sta", title="single-moment grounding (Charades-STA style)",
        help="prediction JSONL of tempoforge Prediction records ({id, duration, gt, answer|pred})",
        aliases=("grounding", "tempoworld", "timechat-tvg"), task="grounding",
        loader="tempoforge.eval.loaders:load_charades_sta", scorer="tempoforge.eval.score:score_grounding_file",
        gt="none", conventions=_GROUNDING, about="one window per query; every query in the denominator"),
    Benchmark(
        name="qvhighlights", title="QVHighlights moment retrieval and highlight detection",
        help="moment_detr submission JSONL + --gt GT JSONL", aliases=(), task="qvhighlights",
        loader="tempoforge.eval.loaders:load_qvhighlights", scorer="tempoforge.eval.score:score_qvhighlights_files",
        gt="one", conventions=(Convention(
            "moment_detr",
            ("brief/MR-full-R1@0.5", "brief/MR-full-R1@0.7", "brief/MR-full-mAP", "brief/HL-min-VeryGood-mAP",
             "brief/HL-min-VeryGood-Hit1"),
            "moment_detr standalone_eval/eval.py (eval_submission): MR mAP and R1 per length bucket, HL mAP and "
            "Hit@1; keys and nesting as it writes them."),)),
    Benchmark(
        name="dense-captioning", title="dense video captioning",
        help="densevid submission JSON + one --gt per reference file",
        aliases=("activitynet-captions", "youcook2"), task="dense_captioning",
        loader="tempoforge.eval.loaders:load_dense_captions", scorer="tempoforge.eval.score:score_dense_files",
        gt="many", options=("tious", "captions", "soda", "soda_multi_reference", "seed"),
        conventions=(Convention(
            "densevid_eval", ("F1/average", "METEOR/average", "CIDEr/average", "SODA_c/f1"),
            "densevid_eval P/R/F1 and caption scores, and SODA_c as fujiso/SODA soda.py (METEOR with the GT "
            "sentence as hypothesis, type c; videos in both files only; references merged unless "
            "--soda-multi-reference)."),)),
    Benchmark(
        name="etbench", title="E.T.Bench", help="E.T.Bench sample list with answers in 'a'", aliases=(),
        task=None, loader="tempoforge.eval.loaders:load_etbench", scorer="tempoforge.eval.score:score_etbench_file",
        gt="none", conventions=(Convention(
            "compute_metrics", ("merged/F1 (gnd)", "merged/F1 (cap)", "merged/Sim (cap)"),
            "E.T.Bench compute_metrics.py: per task and source, then the merged grounding and captioning "
            "figures (when all their tasks are present)."),)),
    Benchmark(
        name="mcq", title="multiple choice", help="JSONL of {id, answer, gt, options?, category?}", aliases=(),
        task=None, loader="tempoforge.eval.loaders:load_jsonl_rows", scorer="tempoforge.eval.score:score_mcq_file",
        gt="none", conventions=(
            Convention("mcq", ("accuracy",), "Accuracy of the chosen letter, per category too."),
            Convention("vinoground", ("text", "video", "group"),
                       "Vinoground pairs {id, text_pos, text_neg, video_pos, video_neg}: text, video and group "
                       "scores."),
        )),
)}

NAMES: tuple[str, ...] = tuple(n for b in BENCHMARKS.values() for n in b.names)
"""Every name ``eval score --benchmark`` accepts."""

_BY_NAME: Mapping[str, Benchmark] = {n: b for b in BENCHMARKS.values() for n in b.names}


def normalize_name(name: str) -> str:
    """``Charades_STA`` -> ``charades-sta``."""
    return name.strip().lower().replace("_", "-")


def find_benchmark(name: str) -> Benchmark:
    """The benchmark of a name or alias, any spelling (a :class:`UserError` listing every known name otherwise)."""
    try:
        return _BY_NAME[normalize_name(name)]
    except KeyError:
        raise UserError(f"unknown benchmark {name!r}; known: {', '.join(sorted(NAMES))}") from None


def scorer_for(name: str) -> str:
    """The canonical name of the benchmark that scores ``name`` (``tempoworld`` -> ``charades-sta``)."""
    return find_benchmark(name).name


def predict_names() -> tuple[str, ...]:
    """Every name ``predict --benchmark`` accepts (the benchmarks with a prompt task)."""
    return tuple(n for b in BENCHMARKS.values() if b.task is not None for n in b.names)


def benchmark_help() -> str:
    """``--benchmark``'s help: each benchmark's input, then the names accepted for it."""
    parts = [f"{b.name}: {b.help}" for b in BENCHMARKS.values()]
    aliases = [f"{', '.join(b.aliases)} -> {b.name}" for b in BENCHMARKS.values() if b.aliases]
    return "; ".join(parts) + ". Dataset names are accepted for their scorer: " + "; ".join(aliases)


def conventions_epilog(width: int = 110) -> str:
    """``eval score --help``'s epilog: every benchmark's conventions, generated from the table."""
    lines = ["conventions (--convention):"]
    for b in BENCHMARKS.values():
        if b.choices:
            lines.append(f"  {b.name}" + (f" ({b.about}):" if b.about else ":"))
            for i, c in enumerate(b.conventions):
                lines += textwrap.wrap(("default. " if i == 0 else "") + c.help, width,
                                       initial_indent=f"    {c.name:<14} ", subsequent_indent=" " * 19)
        else:
            c = b.conventions[0]
            lines += textwrap.wrap(f"{b.name} has one convention, {c.name}: {c.help}", width,
                                   initial_indent="  ", subsequent_indent="    ")
    lines.append('The metrics JSON and the report name the convention used ("convention"; SODA_c.multi_reference).')
    return "\n".join(lines) + "\n"
