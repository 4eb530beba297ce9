"""The TEMPLE curriculum runs its stages in order, merges each LoRA, and resumes from done-markers."""

from __future__ import annotations

import json

import yaml

from tempoforge.config import load_config
from tempoforge.io.jsonl import write_jsonl
from tempoforge.models.video import VideoSettings
from tempoforge.records import PreferencePair
from tempoforge.train.base import OptimSettings
from tempoforge.train.dpo import DPOSettings
from tempoforge.train.lora import LoraSettings
from tempoforge.train.recipes.temple import TempleConfig, run_temple
from tempoforge.train.sft import SFTSettings


def _pairs(square_videos):
    out = []
    for r in (4, 2):
        for k, (v, s, e) in enumerate(square_videos):
            out.append(PreferencePair(id=f"p{k}/r{r}", video=v, prompt="Describe the video.",
                                      chosen=f"the square is visible from {s} to {e}",
                                      rejected=f"the square is visible from {8 - e} to {8 - s}", kind="reverse", r=r))
    return out


def test_curriculum_stages_and_resume(square_videos, tmp_path):
    pairs_path = tmp_path / "pairs.jsonl"
    write_jsonl(pairs_path, _pairs(square_videos))
    opt = OptimSettings(learning_rate=1e-3, max_steps=2, batch_size=2, warmup_ratio=0.0)
    video = VideoSettings(fps=1, max_frames=8)
    cfg = TempleConfig(model="tiny:qwen2_5_vl", pairs=str(pairs_path), out=str(tmp_path / "run"), stages=[16, 4, 2],
                       dpo=DPOSettings(optim=opt, lora=LoraSettings(r=4, alpha=8), video=video),
                       sft=SFTSettings(optim=opt, lora=LoraSettings(r=4, alpha=4), video=video))
    result = run_temple(cfg)
    # r=16 has no pairs: skipped; DPO r4 -> r2 -> SFT
    assert result["stages"] == ["dpo_r4", "dpo_r2", "sft"]
    for stage in result["stages"]:
        d = tmp_path / "run" / stage
        assert (d / "config.json").is_file() and (d / "tempoforge_stage_done.json").is_file()
        assert not (d / "adapter_config.json").exists(), "each stage's LoRA is merged into the weights"
    done = json.loads((tmp_path / "run" / "dpo_r4" / "tempoforge_stage_done.json").read_text())
    assert len(done["loss"]) == 2
    rerun = run_temple(cfg)
    # a finished run resumes without training again, and reports the curves recorded by each stage
    assert rerun["curves"] == result["curves"]


def test_shipped_presets_load(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "configs" / "train"
    for path in sorted(root.glob("temple_*.yaml")):
        cfg = load_config(TempleConfig, path)
        assert cfg.dpo.beta == 0.1
        assert yaml.safe_load(path.read_text())["stages"] == [16, 8, 4, 2]
