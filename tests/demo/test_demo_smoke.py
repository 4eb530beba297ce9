"""``tempoforge demo --preset smoke`` runs every stage end to end and writes a report with its figures."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest


@pytest.mark.integration
def test_demo_smoke_end_to_end(tmp_path):
    out = tmp_path / "demo"
    res = subprocess.run([sys.executable, "-m", "tempoforge.cli", "demo", "--preset", "smoke", "--out", str(out)],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "before -> after" in res.stdout and "report.html" in res.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["temple"]["stages"][-1] == "sft" and summary["temple"]["pairs"] > 0
    for tag in ("eval_before", "eval_after"):
        preds = (out / tag / "predictions.jsonl").read_text().splitlines()
        assert len(preds) == 6
        assert 0.0 <= summary[tag]["preference"]["accuracy"] <= 1.0
    page = (out / "report.html").read_text()
    # bars, frames sheet, world timeline, two prediction timelines, training curves
    assert len(re.findall(r'src="data:image/png;base64,', page)) >= 6
    assert (out / "base" / "model" / "config.json").is_file()
