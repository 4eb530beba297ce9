"""JSONL: errors name file:line and field; writes are atomic; a killed appender never breaks a read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tempoforge.io.jsonl import JsonlError, append_jsonl, read_jsonl, repair_jsonl_tail, write_jsonl
from tempoforge.records import GroundingSample, Span


def _sample(i: int) -> GroundingSample:
    return GroundingSample(id=f"q{i}", video="v.mp4", query="the red circle appears", duration=10.0,
                           spans=[Span.of(1.0, 2.0 + i % 5)])


def test_roundtrip_and_atomic_replace(tmp_path):
    path = tmp_path / "a.jsonl"
    assert write_jsonl(path, [_sample(i) for i in range(3)]) == 3
    got = list(read_jsonl(path, GroundingSample))
    assert [g.id for g in got] == ["q0", "q1", "q2"]
    assert got[2].spans[0] == Span.of(1.0, 4.0)
    write_jsonl(path, [_sample(9)])
    assert [g.id for g in read_jsonl(path, GroundingSample)] == ["q9"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_bad_line_names_file_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = json.dumps(_sample(0).to_json_dict())
    bad = json.dumps({"id": "q1", "video": "v.mp4", "query": "x", "duration": 10.0, "spans": [[3.0, 12.0]]})
    path.write_text(good + "\n\n" + bad + "\n")
    with pytest.raises(JsonlError) as err:
        list(read_jsonl(path, GroundingSample))
    msg = str(err.value)
    assert f"{path}:3:" in msg and "spans.0" in msg and "past the video duration" in msg
    path.write_text(good + "\n{not json\n" + good + "\n")
    with pytest.raises(JsonlError, match=r":2: not valid JSON"):
        list(read_jsonl(path))
    path.write_text(json.dumps({"id": "q", "video": "v", "query": "x", "spans": [[1, 2]], "typo_field": 1}) + "\n")
    with pytest.raises(JsonlError, match="typo_field"):
        list(read_jsonl(path, GroundingSample))


def test_interrupted_append_is_skipped_then_repaired(tmp_path):
    path = tmp_path / "out.jsonl"
    append_jsonl(path, [_sample(0), _sample(1)])
    with path.open("ab") as fh:  # what a writer killed mid-line leaves behind
        fh.write(b'{"id": "q2", "video": "v.m')
    with pytest.warns(UserWarning, match="incomplete last line"):
        assert [g.id for g in read_jsonl(path, GroundingSample)] == ["q0", "q1"]
    append_jsonl(path, _sample(3))
    assert [g.id for g in read_jsonl(path, GroundingSample)] == ["q0", "q1", "q3"]
    assert repair_jsonl_tail(path) is False


_WRITER = """
import sys
from tempoforge.io.jsonl import append_jsonl
for i in range(10_000_000):
    append_jsonl(sys.argv[1], {"i": i, "pad": "x" * 2000})
"""


def test_killed_appender_process_leaves_a_readable_file(tmp_path):
    path = tmp_path / "killed.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)])
    deadline = time.time() + 20
    while time.time() < deadline and (not path.exists() or path.stat().st_size < 200_000):
        time.sleep(0.05)
    os.kill(proc.pid, 9)
    proc.wait()
    rows = list(read_jsonl(path))  # whatever was written, every complete line reads back in order
    assert len(rows) > 10
    assert [r["i"] for r in rows] == list(range(len(rows)))
    append_jsonl(path, {"i": len(rows)})
    assert [r["i"] for r in read_jsonl(path)] == list(range(len(rows) + 1))
