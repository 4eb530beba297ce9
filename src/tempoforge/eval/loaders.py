"""Native benchmark annotation files -> ``tempoforge.records`` (and validated raw rows for the scorers).

Every error names the file and the line (JSONL/text) or the key (JSON) it comes from, as ``UserError``.

Real-data quirks, and what the loaders do with them (``overflow=`` policy where it applies):

- **Charades-STA**: 562 of 3,720 test queries (1,805 of 12,408 train) end after the video length given in
  ``Charades_v1_*.csv``, and 4 train queries are reversed (``start > end``). The official scorers use the
  raw annotation, so the default ``overflow="keep"`` keeps the span as annotated and raises the sample's
  ``duration`` to the span end (the CSV length is kept in ``meta["csv_duration"]``); ``"clip"`` cuts the
  span at the CSV length (raw span in ``meta["raw_spans"]``); ``"error"`` refuses. Reversed spans are
  swapped and flagged ``meta["reversed_in_source"]``.
- **ActivityNet Captions**: a few segments end after ``duration`` (5 in val_1 and 1 in val_2 by more than
  1 ms; ~240 more by float noise like ``95.03999999999999`` vs ``95.04``): same ``overflow`` policy. Most
  sentences start with a space: records get the stripped caption; the raw reference (``load_densevid_refs``)
  keeps the text exactly, as densevid_eval sees it (its PTB tokenizer drops the space anyway).
- **QVHighlights**: the test-release file has no labels: loading it as samples is an error.
- **YouCook2** (PDVC layout) is the ActivityNet layout with integer-second timestamps.
"""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from tempoforge.errors import UserError
from tempoforge.records import DenseCaptionSample, Event, GroundingSample, Span

__all__ = [
    "DenseRef",
    "Overflow",
    "load_activitynet_captions",
    "load_charades_durations",
    "load_charades_sta",
    "load_dense_captions",
    "load_densevid_refs",
    "load_densevid_submission",
    "load_etbench",
    "load_json",
    "load_jsonl_rows",
    "load_qvhighlights",
    "load_qvhighlights_rows",
    "load_qvhighlights_submission",
    "load_timechat_tvg_gt",
    "load_youcook2",
]

log = logging.getLogger(__name__)

Overflow = Literal["keep", "clip", "error"]
_TOL = 1e-3  # records.Span.check_within's tolerance


def load_json(path: str | Path) -> Any:
    """``json.load`` with a ``UserError`` naming the file on a missing file or bad JSON."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: no such file")
    try:
        with p.open("rb") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{p}: not valid JSON ({exc})") from None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{where}: expected a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise UserError(f"{where}: non-finite number {value!r}")
    return x


def _pair(value: Any, where: str) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise UserError(f"{where}: expected [start, end], got {value!r}")
    return _number(value[0], where), _number(value[1], where)


def _fit_span(
    s: float, e: float, duration: float | None, overflow: Overflow, where: str, meta: dict[str, Any]
) -> tuple[Span, float | None]:
    """Apply the reversed/overflow policy; returns the span and the (possibly raised) duration."""
    if s > e:
        s, e = e, s
        meta["reversed_in_source"] = True
    if s < 0:
        raise UserError(f"{where}: negative start time {s}")
    if duration is not None and e > duration + _TOL:
        if overflow == "error":
            raise UserError(f"{where}: span [{s}, {e}] ends after the video duration {duration}")
        if overflow == "clip":
            meta.setdefault("raw_spans", []).append([s, e])
            e = duration
            s = min(s, e)
        else:
            meta.setdefault("csv_duration", duration)
            duration = e
    return Span(start=s, end=e), duration


# --------------------------------------------------------------------------------------------- QVHighlights
_QV_KEYS = ("qid", "query", "vid", "duration")


def load_qvhighlights_rows(path: str | Path) -> list[dict[str, Any]]:
    """QVHighlights GT JSONL rows as dicts (for ``eval_qvhighlights``), checked; errors name ``file:line``."""
    return [r for _, r in _qv_rows(Path(path))]


def _qv_rows(p: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = load_jsonl_rows(p)
    for lineno, row in rows:
        missing = [k for k in (*_QV_KEYS, "relevant_windows") if k not in row]
        if missing:
            raise UserError(f"{p}:{lineno}: missing field(s) {missing}")
        if not isinstance(row["relevant_windows"], list):
            raise UserError(f"{p}:{lineno}: 'relevant_windows' must be a list")
        for i, w in enumerate(row["relevant_windows"]):
            _pair(w, f"{p}:{lineno}: relevant_windows.{i}")
        _number(row["duration"], f"{p}:{lineno}: duration")
    return rows


def load_qvhighlights_submission(path: str | Path) -> list[dict[str, Any]]:
    """A moment_detr submission JSONL (``qid``, ``pred_relevant_windows`` ``[[s, e, score]]`` and/or
    ``pred_saliency_scores``), checked line by line: a NaN or a malformed window names ``file:line``."""
    p = Path(path)
    rows = load_jsonl_rows(p)
    for lineno, row in rows:
        where = f"{p}:{lineno}"
        if "qid" not in row:
            raise UserError(f"{where}: missing field 'qid'")
        if "pred_relevant_windows" not in row and "pred_saliency_scores" not in row:
            raise UserError(f"{where}: no 'pred_relevant_windows' or 'pred_saliency_scores'")
        wins = row.get("pred_relevant_windows", [])
        if not isinstance(wins, list):
            raise UserError(f"{where}: 'pred_relevant_windows' must be a list")
        for i, w in enumerate(wins):
            if not isinstance(w, list) or len(w) != 3:
                raise UserError(f"{where}: pred_relevant_windows.{i} must be [start, end, score], got {w!r}")
            for x in w:
                _number(x, f"{where}: pred_relevant_windows.{i}")
        sal = row.get("pred_saliency_scores", [0.0])
        if not isinstance(sal, list) or not sal:
            raise UserError(f"{where}: 'pred_saliency_scores' must be a non-empty list")
        for i, x in enumerate(sal):
            _number(x, f"{where}: pred_saliency_scores.{i}")
    return [r for _, r in rows]


def load_jsonl_rows(p: Path) -> list[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` for each non-blank line; ``UserError`` naming ``file:line`` on bad JSON."""
    if not p.is_file():
        raise UserError(f"{p}: no such file")
    out = []
    with p.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise UserError(f"{p}:{lineno}: not valid JSON ({exc})") from None
            if not isinstance(row, dict):
                raise UserError(f"{p}:{lineno}: expected a JSON object, got {type(row).__name__}")
            out.append((lineno, row))
    if not out:
        raise UserError(f"{p}: empty file")
    return out


def load_qvhighlights(path: str | Path) -> list[GroundingSample]:
    """QVHighlights JSONL -> ``GroundingSample`` (id = qid); clip ids and saliency kept in ``meta``."""
    out = []
    for lineno, row in _qv_rows(Path(path)):
        where = f"{path}:{lineno}"
        if not row["relevant_windows"]:
            raise UserError(
                f"{where}: no relevant_windows (the unlabelled test release cannot be loaded as samples)"
            )
        meta = {
            "qid": row["qid"],
            "relevant_clip_ids": row.get("relevant_clip_ids", []),
            "saliency_scores": row.get("saliency_scores", []),
        }
        try:
            out.append(
                GroundingSample(
                    id=str(row["qid"]),
                    video=str(row["vid"]),
                    query=str(row["query"]),
                    duration=float(row["duration"]),
                    spans=[Span(start=w[0], end=w[1]) for w in row["relevant_windows"]],
                    source="qvhighlights",
                    meta=meta,
                )
            )
        except ValidationError as exc:
            raise UserError(f"{where}: {_short(exc)}") from None
    return out


def _short(exc: ValidationError) -> str:
    e = exc.errors()[0]
    loc = ".".join(str(x) for x in e["loc"])
    return f"field '{loc}': {e['msg'].removeprefix('Value error, ')}"


# ------------------------------------------------------------------------------------------------ Charades
def load_charades_durations(csv_path: str | Path) -> dict[str, float]:
    """``Charades_v1_{train,test}.csv`` -> ``{video id: length in seconds}``."""
    p = Path(csv_path)
    if not p.is_file():
        raise UserError(f"{p}: no such file")
    out: dict[str, float] = {}
    with p.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"id", "length"} <= set(reader.fieldnames):
            raise UserError(f"{p}: expected a header with 'id' and 'length' columns")
        for lineno, row in enumerate(reader, start=2):
            try:
                out[row["id"]] = float(row["length"])
            except (TypeError, ValueError):
                raise UserError(f"{p}:{lineno}: bad length {row.get('length')!r}") from None
    return out


def load_charades_sta(
    txt_path: str | Path,
    durations: Mapping[str, float] | str | Path | None = None,
    *,
    overflow: Overflow = "keep",
) -> list[GroundingSample]:
    """Charades-STA ``VID START END##sentence`` lines -> ``GroundingSample`` (id ``VID_lineno``).

    ``durations``: a mapping or the path of ``Charades_v1_*.csv``; without it ``duration`` stays unknown.
    """
    p = Path(txt_path)
    if not p.is_file():
        raise UserError(f"{p}: no such file")
    durs = load_charades_durations(durations) if isinstance(durations, (str, Path)) else durations
    out: list[GroundingSample] = []
    n_over = 0
    for lineno, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{p}:{lineno}"
        head, sep, query = line.partition("##")
        parts = head.split()
        if not sep or len(parts) != 3:
            raise UserError(f"{where}: expected 'VID START END##sentence', got {line[:80]!r}")
        vid = parts[0]
        try:
            s, e = float(parts[1]), float(parts[2])
        except ValueError:
            raise UserError(f"{where}: start/end are not numbers: {parts[1:]}") from None
        if not (math.isfinite(s) and math.isfinite(e)):
            raise UserError(f"{where}: non-finite time")
        duration = None
        if durs is not None:
            if vid not in durs:
                raise UserError(f"{where}: video {vid!r} has no duration in the Charades CSV")
            duration = float(durs[vid])
        meta: dict[str, Any] = {"line": lineno}
        span, new_dur = _fit_span(s, e, duration, overflow, where, meta)
        n_over += int(new_dur != duration or "raw_spans" in meta)
        out.append(
            GroundingSample(
                id=f"{vid}_{lineno}",
                video=vid,
                query=query.strip(),
                duration=new_dur,
                spans=[span],
                source="charades-sta",
                meta=meta,
            )
        )
    if n_over:
        log.warning("%s: %d queries end after the CSV duration (overflow=%s)", p, n_over, overflow)
    return out


# -------------------------------------------------------------------------------- dense captions (ANet/YC2)
@dataclass(frozen=True)
class DenseRef:
    """One video of a densevid reference file, exactly as written (raw numbers and text)."""

    duration: float | None
    timestamps: list[tuple[float, float]]
    sentences: list[str]


def load_densevid_refs(path: str | Path) -> dict[str, DenseRef]:
    """ActivityNet-Captions-layout JSON ``{vid: {duration, timestamps, sentences}}`` -> ``{vid: DenseRef}``."""
    data = load_json(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object keyed by video id")
    if "results" in data and isinstance(data["results"], dict):
        raise UserError(f"{path}: this looks like a submission ('results'), not a reference file")
    out: dict[str, DenseRef] = {}
    for vid, v in data.items():
        where = f"{path}: key {vid!r}"
        if not isinstance(v, dict) or "timestamps" not in v or "sentences" not in v:
            raise UserError(f"{where}: expected an object with 'timestamps' and 'sentences'")
        ts = [_pair(t, f"{where}: timestamps.{i}") for i, t in enumerate(v["timestamps"])]
        sents = v["sentences"]
        if not isinstance(sents, list) or not all(isinstance(s, str) for s in sents):
            raise UserError(f"{where}: 'sentences' must be a list of strings")
        if len(sents) != len(ts):
            raise UserError(f"{where}: {len(ts)} timestamps but {len(sents)} sentences")
        dur = _number(v["duration"], f"{where}: duration") if "duration" in v else None
        out[str(vid)] = DenseRef(dur, ts, list(sents))
    return out


def load_densevid_submission(path: str | Path) -> dict[str, list[tuple[tuple[float, float], str]]]:
    """A densevid submission ``{"results": {vid: [{"timestamp": [s, e], "sentence": str}, ...]}}``.

    ``version``/``external_data`` are not required (the official script demands them but never reads them).
    """
    data = load_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise UserError(f"{path}: expected an object with a 'results' mapping of video id -> predictions")
    out: dict[str, list[tuple[tuple[float, float], str]]] = {}
    for vid, preds in data["results"].items():
        if not isinstance(preds, list):
            raise UserError(f"{path}: results[{vid!r}] must be a list")
        items = []
        for i, pr in enumerate(preds):
            where = f"{path}: results[{vid!r}][{i}]"
            if not isinstance(pr, dict) or "timestamp" not in pr:
                raise UserError(f"{where}: expected an object with 'timestamp' and 'sentence'")
            sent = pr.get("sentence", "")
            if not isinstance(sent, str):
                raise UserError(f"{where}: 'sentence' must be a string")
            items.append((_pair(pr["timestamp"], where + ".timestamp"), sent))
        out[str(vid)] = items
    return out


def load_dense_captions(
    path: str | Path, *, source: str | None = None, overflow: Overflow = "keep"
) -> list[DenseCaptionSample]:
    """ActivityNet Captions / YouCook2 (PDVC layout) JSON -> ``DenseCaptionSample`` (captions stripped)."""
    refs = load_densevid_refs(path)
    out = []
    n_over = 0
    for vid, ref in refs.items():
        where = f"{path}: key {vid!r}"
        if ref.duration is None or ref.duration <= 0:
            raise UserError(f"{where}: missing or non-positive 'duration'")
        meta: dict[str, Any] = {}
        duration: float = ref.duration
        events = []
        for i, ((s, e), sent) in enumerate(zip(ref.timestamps, ref.sentences)):
            span, new_dur = _fit_span(s, e, duration, overflow, f"{where}: timestamps.{i}", meta)
            duration = new_dur if new_dur is not None else duration
            events.append(Event(span=span, caption=sent.strip()))
        n_over += int("csv_duration" in meta or "raw_spans" in meta)
        if "csv_duration" in meta:
            meta["source_duration"] = meta.pop("csv_duration")
        out.append(
            DenseCaptionSample(id=vid, video=vid, duration=duration, events=events, source=source, meta=meta)
        )
    if n_over:
        log.warning(
            "%s: %d videos have segments ending after 'duration' (overflow=%s)", path, n_over, overflow
        )
    return out


def load_activitynet_captions(path: str | Path, *, overflow: Overflow = "keep") -> list[DenseCaptionSample]:
    """ActivityNet Captions ``val_1.json`` / ``val_2.json`` -> ``DenseCaptionSample``."""
    return load_dense_captions(path, source="activitynet-captions", overflow=overflow)


def load_youcook2(path: str | Path, *, overflow: Overflow = "keep") -> list[DenseCaptionSample]:
    """YouCook2 in PDVC's ActivityNet layout (``yc2_val.json``) -> ``DenseCaptionSample``."""
    return load_dense_captions(path, source="youcook2", overflow=overflow)


# --------------------------------------------------------------------------------------- E.T.Bench, TimeChat
_ETB_KEYS = ("task", "source")


def load_etbench(path: str | Path, *, require_answers: bool = False) -> list[dict[str, Any]]:
    """An E.T.Bench sample list (JSON list of objects with ``task``, ``source``, ``tgt``/``g``/..., ``a``).

    Rows are returned as dicts (the official scorer's input); each is checked for ``task``/``source`` and,
    with ``require_answers``, a string answer in ``a``. Errors name the list index.
    """
    data = load_json(path)
    if isinstance(data, dict):  # some dumps wrap the list
        data = data.get("samples", data.get("data", data))
    if not isinstance(data, list):
        raise UserError(f"{path}: expected a JSON list of E.T.Bench samples")
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            raise UserError(f"{path}: item {i}: expected an object")
        missing = [k for k in _ETB_KEYS if k not in row]
        if missing:
            raise UserError(f"{path}: item {i}: missing field(s) {missing}")
        if require_answers and not isinstance(row.get("a"), str):
            raise UserError(f"{path}: item {i}: no model answer in 'a'")
    return data


def load_timechat_tvg_gt(path: str | Path) -> list[GroundingSample]:
    """TimeChat's COCO-style TVG ground truth ``{"annotations": [{image_id, caption, timestamp, id}]}``."""
    data = load_json(path)
    anns = data.get("annotations") if isinstance(data, dict) else None
    if not isinstance(anns, list):
        raise UserError(f"{path}: expected an object with an 'annotations' list")
    out = []
    for i, a in enumerate(anns):
        where = f"{path}: annotations[{i}]"
        if not isinstance(a, dict) or not {"image_id", "caption", "timestamp", "id"} <= set(a):
            raise UserError(f"{where}: expected image_id, caption, timestamp and id")
        s, e = _pair(a["timestamp"], where + ".timestamp")
        meta: dict[str, Any] = {}
        span, _ = _fit_span(s, e, None, "keep", where, meta)
        out.append(
            GroundingSample(
                id=str(a["id"]),
                video=str(a["image_id"]),
                query=str(a["caption"]).strip(),
                spans=[span],
                source="timechat-tvg",
                meta=meta,
            )
        )
    return out
