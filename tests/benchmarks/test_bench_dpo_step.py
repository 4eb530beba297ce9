"""The TRL adapter of ``benchmarks/dpo_step.py``: TRL's stock DPOTrainer trains on our video inputs.

If this breaks (a TRL or transformers upgrade changes the batch layout, the fused LM head or the reference
path), the benchmark would silently compare against a TRL that does not see the video.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import pytest

from tempoforge.records import PreferencePair
from testkit import square_clip

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "dpo_step.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_dpo_step", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def square_pairs(tmp_path_factory: pytest.TempPathFactory) -> list[PreferencePair]:
    """Two 8 s clips at 1 fps (56x56), a red square visible over [k, k + 3); a true-order and a reversed caption."""
    root = tmp_path_factory.mktemp("bench_dpo")
    pairs = []
    for k in range(2):
        video = square_clip(root / f"v{k}.mp4", k, k + 3)
        pairs.append(PreferencePair(id=f"v{k}", video=video, prompt="What happens in this video, in order?",
                                    chosen="First, a red square appears. Finally, it disappears.",
                                    rejected="First, a red square disappears. Finally, it appears.",
                                    kind="reverse", r=2, seed=0))
    return pairs


def test_trl_dpo_trains_on_video_and_starts_at_log2(square_pairs: list[PreferencePair], tmp_path: Path) -> None:
    bench = _bench()
    from tempoforge.models.tiny import build_tiny
    from tempoforge.models.video import VideoSettings
    from tempoforge.train.base import OptimSettings, VisionProbe
    from tempoforge.train.dpo import PairDataset
    from tempoforge.train.lora import LoraSettings

    lm = build_tiny("qwen2_5_vl", seed=0)
    data = PairDataset(lm, square_pairs, VideoSettings(fps=1.0, max_frames=16))
    opt = OptimSettings(learning_rate=1e-3, max_steps=2, batch_size=2, warmup_ratio=0.0, scheduler="constant")
    trainer = bench.trl_trainer(lm, data, opt, LoraSettings(r=4, alpha=8, dropout=0.0), 0.1, tmp_path)

    # the collator's layout is TRL's: chosen rows first, then rejected rows, answers marked by completion_mask
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    tok = lm.tokenizer
    for row, text in ((0, square_pairs[0].chosen), (2, square_pairs[0].rejected)):
        answer = batch["input_ids"][row][batch["completion_mask"][row].bool()]
        assert tok.decode(answer) == text + "<|im_end|>\n"

    step0 = bench.trl_step0(trainer, data, 2)
    # fresh LoRA (B = 0): policy == reference, so the margin is 0 and the loss is -log sigmoid(0) = log 2
    assert step0["loss"] == pytest.approx(math.log(2), abs=1e-5)
    # TRL's per-sequence log-probs of the batch equal ours (shared prefix + KV cache) on the same model
    assert step0["logps_max_abs_diff"] < 1e-3
    # 8 frames of 56x56 -> grid (t, h, w) = (4, 4, 4) = 64 patch rows per video; each TRL forward sees
    # 2B = 4 videos; compute_loss = policy + reference forwards, then compute_ref_log_probs = 1 more
    assert step0["vision_calls"] == 3
    assert step0["vision_rows"] == 3 * 4 * 64

    with VisionProbe(trainer.model) as probe:
        trainer.train()
    assert probe.calls == 2 * 2  # policy + reference forward per step, 2 steps
    assert probe.rows == 2 * 2 * 4 * 64
