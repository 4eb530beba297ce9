"""Worker for ``test_distributed_train.py``: SFT of the tiny model where one rank's batch has a video and the
other rank's is text-only (launched with ``accelerate launch``; not a test module itself).

Two items, per-device batch 1, two processes: every step's global batch is both items, one per rank, so each
step one rank sees the video and the other sees none (the ZeRO-3 hang; here DDP with
``find_unused_parameters=False``). Each rank writes ``rank<r>.json`` with its losses, its vision-tower calls
and a checksum of the trainable vision parameters after training.

    python sft_worker.py VIDEO OUT_DIR [--no-keep-alive] [--timeout SECONDS]

``--timeout`` bounds every collective (the gloo process group is created here, before accelerate, which
reuses it), so a rank stuck in a collective raises instead of hanging forever.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from datetime import timedelta
from pathlib import Path

import torch

from tempoforge.models.tiny import build_tiny
from tempoforge.models.video import VideoSettings
from tempoforge.train import sft
from tempoforge.train.base import OptimSettings, VisionProbe
from tempoforge.train.data import SFTItem
from tempoforge.train.distributed import rank, world_size
from tempoforge.train.lora import LoraSettings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("out")
    ap.add_argument("--no-keep-alive", action="store_true", help="control: train without the vision keep-alive")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds any collective may wait")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", timeout=timedelta(seconds=args.timeout))
    if args.no_keep_alive:
        sft.keep_vision_in_graph = lambda model: contextlib.nullcontext()  # type: ignore[assignment,return-value]
    lm = build_tiny("qwen2_5_vl", seed=0)
    items = [SFTItem("video", args.video, "When is the square visible?", "from 1.5 to 4.5"),
             SFTItem("text", "", "What is two plus two?", "four")]
    settings = sft.SFTSettings(
        optim=OptimSettings(learning_rate=1e-2, max_steps=3, batch_size=1, warmup_ratio=0.0,
                            ddp_find_unused_parameters=False),
        lora=LoraSettings(r=4, alpha=8, dropout=0.0, train_vision=True),
        video=VideoSettings(fps=1.0, max_frames=8))
    out = Path(args.out)
    with VisionProbe(lm.model) as probe:
        result = sft.run_sft(lm, items, settings, out / "trainer")
    vision = [p.detach().double().sum().item() for n, p in result.model.named_parameters()
              if "visual" in n and "lora_" in n]
    b_abs = sum(p.detach().abs().sum().item() for n, p in result.model.named_parameters()
                if "visual" in n and "lora_B" in n)
    record = {"rank": rank(), "world_size": world_size(), "losses": result.losses, "vision_calls": probe.calls,
              "vision_rows": probe.rows, "vision_lora_checksum": sum(vision), "vision_lora_tensors": len(vision),
              "vision_lora_b_abs": b_abs}
    (out / f"rank{rank()}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main()
