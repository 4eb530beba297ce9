"""Worker for ``test_distributed_train.py``: ``save_checkpoint`` of an FSDP2-sharded LoRA model (2 processes).

Builds the tiny Qwen2.5-VL with a LoRA adapter (B randomised so the merge changes the weights), keeps an
unsharded copy merged in one process as the reference, shards the model with ``fully_shard`` per decoder /
vision block (what ``configs/accelerate/fsdp.yaml`` does), then calls ``save_checkpoint`` on every rank.
Rank 0 writes ``result.json``: the largest difference between the saved weights and the reference saved
unsharded, the keys only one has, and the largest logit difference between the model ``save_checkpoint``
leaves in ``lm.model`` (reloaded from the file) and the reference.

    python -m torch.distributed.run --nproc_per_node 2 fsdp_save_worker.py OUT_DIR
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

import torch
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

from tempoforge.models.inputs import collate
from tempoforge.models.tiny import build_tiny
from tempoforge.train.checkpoint import save_checkpoint
from tempoforge.train.distributed import is_main_process, is_sharded, text_example
from tempoforge.train.lora import LoraSettings, apply_lora, merge_lora


def main() -> None:
    out = Path(sys.argv[1])
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo")
    lm = build_tiny("qwen2_5_vl", seed=0)
    model = apply_lora(lm.model, LoraSettings(r=4, alpha=8, dropout=0.0, train_vision=True))
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    base_q = next(p for n, p in model.named_parameters() if n.endswith("layers.0.self_attn.q_proj.base_layer.weight"))
    base_q = base_q.detach().clone()
    reference = merge_lora(copy.deepcopy(model)).eval()
    ref_q = next(p for n, p in reference.named_parameters() if n.endswith("layers.0.self_attn.q_proj.weight"))
    merge_delta = float((ref_q - base_q).abs().max())
    mesh = init_device_mesh("cpu", (2,))
    for module in model.modules():
        if type(module).__name__ in ("Qwen2_5_VLDecoderLayer", "Qwen2_5_VLVisionBlock"):
            fully_shard(module, mesh=mesh)
    fully_shard(model, mesh=mesh)
    assert is_sharded(model)
    lm.model = model
    save_checkpoint(lm, out / "ckpt")
    batch = collate([text_example(lm, "What is two plus two?", "four")], pad_token_id=lm.token_ids["pad"])
    with torch.no_grad():
        logits = lm.model.eval()(**batch).logits
        ref_logits = reference(**batch).logits
    if is_main_process():
        from safetensors.torch import load_file

        reference.save_pretrained(out / "reference")  # the unsharded merge, written the stock way
        saved = load_file(str(out / "ckpt" / "model.safetensors"))
        want = load_file(str(out / "reference" / "model.safetensors"))
        diffs = {k: float((saved[k] - want[k]).abs().max()) for k in saved if k in want}
        result = {"max_weight_diff": max(diffs.values()), "missing": sorted(set(want) - set(saved)),
                  "unexpected": sorted(set(saved) - set(want)), "saved_keys": len(saved),
                  "max_logit_diff": float((logits - ref_logits).abs().max()),
                  "lora_keys_saved": sum("lora_" in k for k in saved), "merge_delta": merge_delta}
        (out / "result.json").write_text(json.dumps(result))
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # skip interpreter finalization: see the end of fsdp_generate_worker.py
