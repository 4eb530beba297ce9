"""TEMPLE pairs: aggregation, METHODS 1.3 filters, perturbation bookkeeping, ms-swift export, CLI resume."""

from __future__ import annotations

import json
import subprocess
import sys

from tempoforge.io.jsonl import read_jsonl, write_jsonl
from tempoforge.records import DenseCaptionSample, Event, PreferencePair, Span
from tempoforge.synth.temple import (
    TempleSynthConfig,
    aggregate_captions,
    clip_spans,
    export_ms_swift,
    keep_pair,
    oracle_clip_captions,
    temple_pairs,
)

SAMPLE = DenseCaptionSample(id="v1", video="v1.mp4", duration=8.0, events=[
    Event(span=Span.of(0, 2), caption="the red circle appears"),
    Event(span=Span.of(2, 4), caption="nothing moves", action="static"),
    Event(span=Span.of(4, 6), caption="the red circle moves to the left"),
    Event(span=Span.of(6, 8), caption="the red circle disappears"),
])


def test_clips_and_oracle_captions_by_hand():
    spans = clip_spans(8.0, 4)
    assert spans == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0), (6.0, 8.0)]
    # midpoints 1, 3, 5, 7: the static segment reads as "nothing changes"
    assert oracle_clip_captions(SAMPLE, spans) == [
        "the red circle appears", "nothing changes", "the red circle moves to the left", "the red circle disappears"]


def test_aggregate_by_hand():
    assert aggregate_captions(["a", "a", "nothing changes", "b", "c"]) == "First, a. Then, b. Finally, c."
    assert aggregate_captions(["only this"]) == "Only this."
    assert aggregate_captions(["nothing changes"]) == "Nothing changes in the video."


def test_filters_by_hand():
    assert keep_pair("drop", "First, a. Finally, b.", "A.") is None
    assert keep_pair("drop", "A.", "First, a. Finally, b.") == "drop: chosen is not longer than rejected"
    assert keep_pair("reverse", "x y", "x y z") == "chosen is a substring of rejected"
    assert keep_pair("shuffle", "abcdef", "ab") == "shuffle: lengths differ by more than 1.5x"
    assert keep_pair("reverse", "same", "same") == "identical responses"


def test_pairs_reverse_the_story():
    caps = oracle_clip_captions(SAMPLE, clip_spans(8.0, 4))
    pairs, skipped = temple_pairs(SAMPLE, caps, TempleSynthConfig(kinds=["reverse"], r=[4], captioner="oracle"))
    assert not skipped and len(pairs) == 1
    p = pairs[0]
    # N=4, r=4 -> chunks of 1 -> full reversal of the clip captions
    assert p.chosen == ("First, the red circle appears. Then, the red circle moves to the left. "
                        "Finally, the red circle disappears.")
    assert p.rejected == ("First, the red circle disappears. Then, the red circle moves to the left. "
                          "Finally, the red circle appears.")
    assert (p.kind, p.r, p.seed) == ("reverse", 4, 0) and p.id == "v1/reverse/r4/s0"


def test_ms_swift_export(tmp_path):
    pairs = [PreferencePair(id="a", video="v.mp4", prompt="Describe.", chosen="c", rejected="r"),
             PreferencePair(id="b", video="v.mp4", prompt="Describe.", chosen="c", rejected="r", rejected_video="p.mp4")]
    assert export_ms_swift(pairs, tmp_path / "swift.jsonl") == 2
    rows = [json.loads(x) for x in (tmp_path / "swift.jsonl").read_text().splitlines()]
    assert rows[0] == {"messages": [{"role": "user", "content": "<video>Describe."},
                                    {"role": "assistant", "content": "c"}],
                       "videos": ["v.mp4"], "rejected_response": "r"}
    assert rows[1]["rejected_videos"] == ["p.mp4"] and rows[1]["rejected_messages"][1]["content"] == "r"


def test_cli_oracle_resumes(tmp_path):
    data = tmp_path / "dense.jsonl"
    write_jsonl(data, [SAMPLE, SAMPLE.model_copy(update={"id": "v2"})])
    out = tmp_path / "pairs.jsonl"
    cmd = [sys.executable, "-m", "tempoforge.cli", "-q", "synth", "temple", "--in", str(data), "--out", str(out),
           "--captioner", "oracle", "--clips", "4", "--kinds", "reverse", "shuffle", "--r", "4", "2"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    n = len(list(read_jsonl(out, PreferencePair)))
    assert n > 0
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "0 pairs from 0 videos" in again.stdout
    assert len(list(read_jsonl(out, PreferencePair))) == n
    bad = subprocess.run([*cmd[:6], "--in", str(data), "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "needs --model" in bad.stderr
