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
    assert summary["temple"]["stages"] == ["dpo_r16", "dpo_r8", "dpo_r4", "dpo_r2", "sft"]
    assert summary["temple"]["pairs"] > 0
    for tag in ("eval_before", "eval_after"):
        preds = (out / tag / "grounding.jsonl").read_text().splitlines()
        assert len(preds) == 6  # the smoke preset scores 6 held-out queries
        metrics = summary[tag]["metrics"]
        assert metrics["order_preference_blank"]["value"] == 0.5  # grey frames: chance by construction
        for m in metrics.values():
            lo, hi = m["interval"]
            assert 0.0 <= lo <= m["value"] <= hi <= 1.0
    assert "difference" in summary["eval_after"]["metrics"]["order_preference"]
    page = (out / "report.html").read_text()
    # bars, frames sheet, world timeline, two prediction timelines, training curves
    assert len(re.findall(r'src="data:image/png;base64,', page)) >= 6
    assert "after &minus; before" in page
    assert (out / "base" / "model" / "config.json").is_file()
