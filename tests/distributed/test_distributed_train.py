"""Two-process CPU training (gloo) under ``accelerate launch``, against one process on the same data.

Integration tests (``make test-integration``): each starts real processes with
``configs/accelerate/cpu_ddp_2proc.yaml`` and takes ~30-70 s on 2 cores.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tempoforge.io.jsonl import write_jsonl
from tempoforge.records import PreferencePair
from testkit import square_clip

REPO = Path(__file__).resolve().parents[2]
CPU_2PROC = REPO / "configs" / "accelerate" / "cpu_ddp_2proc.yaml"
WORKER = Path(__file__).resolve().parent / "sft_worker.py"
FSDP_WORKER = Path(__file__).resolve().parent / "fsdp_save_worker.py"
GENERATE_WORKER = Path(__file__).resolve().parent / "fsdp_generate_worker.py"

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accelerate(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """``accelerate launch`` with the 2-process CPU config; the whole process group is killed on timeout."""
    return _run([sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CPU_2PROC),
                 "--main_process_port", str(_free_port()), *args], cwd, timeout)


def _run(cmd: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return subprocess.CompletedProcess(cmd, -9, out, None)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, None)


def _pairs(root: Path) -> Path:
    """8 pairs over 4 clips (two questions each): with a global batch of 4 the data order matters."""
    pairs = []
    for k in range(4):
        s, e = 1.5 * k, 1.5 * k + 3
        video = square_clip(root / f"v{k}.mp4", s, e)
        for q, prompt in enumerate(("When is the square visible?", "Give the span of the red square.")):
            pairs.append(PreferencePair(id=f"p{k}.{q}", video=video, prompt=prompt, chosen=f"from {s} to {e}",
                                        rejected=f"from {8 - e} to {8 - s}", kind="reverse", r=4))
    path = root / "pairs.jsonl"
    write_jsonl(path, pairs)
    return path


def _preset(path: Path, pairs: Path, out: Path, batch_size: int) -> Path:
    optim = {"learning_rate": 0.002, "max_steps": 4, "batch_size": batch_size, "warmup_ratio": 0.0}
    video = {"fps": 1.0, "max_frames": 8}
    cfg = {"model": "tiny:qwen2_5_vl", "pairs": str(pairs), "out": str(out), "stages": [4], "order": "dpo-sft",
           "dpo": {"optim": optim, "lora": {"r": 4, "alpha": 8, "dropout": 0.0}, "video": video},
           "sft": {"optim": optim, "lora": {"r": 4, "alpha": 4, "dropout": 0.0, "train_vision": True},
                   "video": video}}
    path.write_text(yaml.safe_dump(cfg))
    return path


def _weights(stage_dir: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(stage_dir / "model.safetensors"))


def test_two_processes_match_one_process(tmp_path: Path) -> None:
    """TEMPLE (DPO stage, then SFT) via ``tempoforge train temple``: 2 processes x batch 2 == 1 process x batch 4.

    Same global batch, same seed: accelerate gives rank r the r-th half of each global batch that the
    single process would draw (8 items, 2 steps per epoch, so the shuffle order must agree too), and DDP
    averages the gradients of the two halves. Both losses are means over the global batch — DPO's mean over
    pairs is the mean of the two ranks' means (equal halves); SFT's token mean is exact across ranks because
    transformers counts the answer tokens of the whole global batch (``average_tokens_across_devices``).
    Tolerance: relative 1e-4 on every logged loss and 1e-4 absolute on every weight of the merged
    checkpoints. The only difference is float32 summation order (an all-reduce of two half-batch gradients
    vs one batch's reduction, ~1e-7 relative per step), which four AdamW steps at lr 2e-3 do not amplify
    (measured: largest loss difference 9.5e-7 on losses ~6.2, largest weight difference 2.4e-7). A different
    batch composition, a missing gradient average or a per-rank token normalisation changes the losses by
    the scale of step-to-step changes (5e-3 to 3e-2 here), 10x to 100x above the tolerance.
    """
    from tempoforge.config import load_config
    from tempoforge.train.recipes.temple import TempleConfig, run_temple

    pairs = _pairs(tmp_path)
    one = load_config(TempleConfig, _preset(tmp_path / "one.yaml", pairs, tmp_path / "one", batch_size=4))
    run_temple(one)
    two = _preset(tmp_path / "two.yaml", pairs, tmp_path / "two", batch_size=2)
    res = _accelerate(["-m", "tempoforge.cli", "train", "temple", "--config", str(two)], tmp_path, timeout=240)
    assert res.returncode == 0, res.stdout[-4000:]
    for stage in ("dpo_r4", "sft"):
        a = json.loads((tmp_path / "one" / stage / "tempoforge_stage_done.json").read_text())
        b = json.loads((tmp_path / "two" / stage / "tempoforge_stage_done.json").read_text())
        assert len(a["loss"]) == len(b["loss"]) == 4
        np.testing.assert_allclose(b["loss"], a["loss"], rtol=1e-4, err_msg=stage)
        wa, wb = _weights(tmp_path / "one" / stage), _weights(tmp_path / "two" / stage)
        assert wa.keys() == wb.keys()
        for key in wa:
            np.testing.assert_allclose(wb[key], wa[key], atol=1e-4, rtol=0, err_msg=f"{stage}: {key}")
    # the runs trained (so agreeing is not trivial): SFT loss went down, DPO preferred the chosen answers
    sft_loss = json.loads((tmp_path / "two" / "sft" / "tempoforge_stage_done.json").read_text())["loss"]
    assert sft_loss[-1] < sft_loss[0]
    # rank 0 alone wrote the checkpoint, and it is complete (loads back)
    from tempoforge.models.load import load

    assert load(str(tmp_path / "two" / "sft")).model is not None


def _worker(tmp_path: Path, out: str, *extra: str, timeout: float) -> subprocess.CompletedProcess[str]:
    video = square_clip(tmp_path / "clip.mp4", 1.5, 4.5)
    return _accelerate([str(WORKER), video, str(tmp_path / out), *extra], tmp_path, timeout=timeout)


def test_rank_without_video_does_not_hang(tmp_path: Path) -> None:
    """Each step one rank has the video and the other a text-only example (DDP, find_unused_parameters=False).

    With the keep-alive every rank runs the vision tower once per step — the video rank on the clip (8
    frames of 56x56: 4 temporal x 4 x 4 patches = 64 rows), the text rank on the dummy (1 x 2 x 2 = 4 rows)
    — so over 3 steps the two ranks together saw 3 x 64 + 3 x 4 = 204 rows in 6 calls, the job finishes,
    and the vision LoRA weights agree across ranks and moved (LoRA B starts at 0).
    """
    res = _worker(tmp_path, "run", timeout=180)
    assert res.returncode == 0, res.stdout[-4000:]
    ranks = [json.loads((tmp_path / "run" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert [r["vision_calls"] for r in ranks] == [3, 3]
    assert sum(r["vision_rows"] for r in ranks) == 3 * 64 + 3 * 4
    assert all(r["vision_rows"] % 4 == 0 and 3 * 4 <= r["vision_rows"] <= 3 * 64 for r in ranks)
    assert ranks[0]["vision_lora_checksum"] == pytest.approx(ranks[1]["vision_lora_checksum"], abs=1e-9)
    assert ranks[0]["vision_lora_b_abs"] > 0
    assert ranks[0]["losses"] == ranks[1]["losses"] and len(ranks[0]["losses"]) == 3


def test_rank_without_video_hangs_without_the_fix(tmp_path: Path) -> None:
    """Control: the same job without the keep-alive gets stuck in DDP's gradient all-reduce (the rank without
    video never marks the vision parameters ready); a 20 s collective timeout turns the hang into a failure."""
    res = _worker(tmp_path, "control", "--no-keep-alive", "--timeout", "20", timeout=170)
    assert res.returncode != 0
    assert "Timed out" in res.stdout or "reduction" in res.stdout or res.returncode == -9, res.stdout[-4000:]
    assert not (tmp_path / "control" / "rank0.json").exists()


def test_fsdp2_sharded_checkpoint_is_the_full_merged_model(tmp_path: Path) -> None:
    """``save_checkpoint`` on a LoRA model sharded with FSDP2 (``fully_shard`` per block, 2 ranks, gloo): the
    file equals the unsharded merge saved the stock way, key for key and bit for bit, and the model left in
    ``lm.model`` computes the same logits. The merge is not a no-op (LoRA B randomised: layer 0's q_proj
    moves), and no adapter tensors leak into the file."""
    res = _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                str(_free_port()), str(FSDP_WORKER), str(tmp_path / "out")], tmp_path, timeout=150)
    assert res.returncode == 0, res.stdout[-4000:]
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["missing"] == [] and result["unexpected"] == [] and result["saved_keys"] > 0
    assert result["max_weight_diff"] == 0.0
    assert result["max_logit_diff"] == 0.0
    assert result["merge_delta"] > 1e-3 and result["lora_keys_saved"] == 0


def test_fsdp2_sampling_with_uneven_lengths_finishes(tmp_path: Path) -> None:
    """GRPO's rollout on an FSDP2-sharded model (2 ranks, gloo): rank 0's completions end after one token,
    rank 1's run to the cap, and both ranks finish (transformers turns ``synced_gpus`` on for FSDP-managed
    models); the control with ``synced_gpus=False`` hangs."""
    def launch(out: Path, *extra: str, timeout: float) -> subprocess.CompletedProcess[str]:
        out.mkdir()
        return _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                     str(_free_port()), str(GENERATE_WORKER), str(out), *extra], tmp_path, timeout=timeout)

    res = launch(tmp_path / "synced", timeout=120)
    assert res.returncode == 0, res.stdout[-4000:]
    got = [json.loads((tmp_path / "synced" / f"rank{r}.json").read_text())["new_tokens"] for r in (0, 1)]
    assert got == [1, 12]
    control = launch(tmp_path / "unsynced", "unsynced", timeout=60)
    assert control.returncode != 0
    assert not (tmp_path / "unsynced" / "rank1.json").exists()
