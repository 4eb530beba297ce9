"""Worker for ``test_distributed_train.py``: sampled generation (what GRPO's rollout calls) on an
FSDP2-sharded model, 2 processes, where rank 0's completions end at the first token and rank 1's run to
``max_new_tokens``.

Under sharding every forward is a collective, so a rank that stops stepping early would leave the other
waiting forever; transformers' ``generate`` turns ``synced_gpus`` on by itself for FSDP-managed models
(and HF-configured ZeRO-3), which this checks on the real thing. Each rank writes ``rank{r}.json`` with
the number of new tokens it got. ``unsynced`` forces ``synced_gpus=False``: the control, which hangs.

    python -m torch.distributed.run --nproc_per_node 2 fsdp_generate_worker.py OUT_DIR [unsynced]
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path

import torch
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

from tempoforge.models.inputs import collate
from tempoforge.models.tiny import build_tiny
from tempoforge.train.distributed import is_sharded, rank, text_example


def main() -> None:
    out = Path(sys.argv[1])
    unsynced = sys.argv[2:] == ["unsynced"]
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", timeout=timedelta(seconds=30))
    lm = build_tiny("qwen2_5_vl", seed=0)
    mesh = init_device_mesh("cpu", (2,))
    for module in lm.model.modules():
        if type(module).__name__ in ("Qwen2_5_VLDecoderLayer", "Qwen2_5_VLVisionBlock"):
            fully_shard(module, mesh=mesh)
    fully_shard(lm.model, mesh=mesh)
    assert is_sharded(lm.model)
    batch = collate([text_example(lm, "Count to ten.")], pad_token_id=lm.token_ids["pad"], padding_side="left")
    vocab = lm.model.config.get_text_config().vocab_size
    # rank 0: every token ends a completion (done after one step); rank 1: nothing does (runs to the cap)
    eos = list(range(vocab)) if rank() == 0 else [vocab + 7]
    kwargs = dict(**batch, do_sample=True, max_new_tokens=12, eos_token_id=eos, pad_token_id=lm.token_ids["pad"])
    if unsynced:
        kwargs["synced_gpus"] = False
    torch.manual_seed(rank())
    with torch.no_grad():
        ids = lm.model.generate(**kwargs)
    new = int(ids.shape[1] - batch["input_ids"].shape[1])
    (out / f"rank{rank()}.json").write_text(json.dumps({"new_tokens": new}))
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
    # Skip interpreter finalization: gloo worker threads still alive there can abort the process
    # ("terminate called without an active exception", seen once in CI) after the work is done and
    # written; the process group is already destroyed (pytorch/pytorch#179291 discusses the crash).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
