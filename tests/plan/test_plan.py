"""``tempoforge plan``: the memory arithmetic by hand, token counts through the resize rules, presets, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tempoforge.models.tensorize import VisionSpec
from tempoforge.plan.estimate import Workload, activation_memory, estimate, layer_bytes, static_memory
from tempoforge.plan.shapes import ModelShape, video_tokens

REPO = Path(__file__).resolve().parents[2]
TOY = ModelShape(params=1000, vision_params=200, lm_head_params=0, layer_params=100, vision_block_params=50,
                 layers=2, hidden=100, intermediate=300, heads=10, kv_heads=2, head_dim=10, vocab=1000,
                 vision_depth=2, vision_hidden=40, vision_intermediate=80,
                 linears=((False, 10, 20), (False, 20, 10), (True, 10, 10)))


def _w(**kw: object) -> Workload:
    base: dict[str, object] = dict(kind="sft", batch=1, video_tokens=50, vision_rows=100, prompt_tokens=30,
                                   answer_tokens=20, lora=False)
    base.update(kw)
    return Workload(**base)  # type: ignore[arg-type]


def test_layer_bytes_by_hand() -> None:
    # common: RMSNorm fp32 inputs 2*4*100 + SDPA 4*2*100 + gate/up/SiLU 3*2*300 = 800 + 800 + 1800 = 3400
    assert layer_bytes(100, 300, lora=False, dropout=False) == 3400 + 3 * 2 * 100 + 2 * 300  # 4600
    # LoRA with dropout under autocast: a = 1 + 2 bytes per value on 6 h-wide and one i-wide adapter
    assert layer_bytes(100, 300, lora=True, dropout=True, autocast=True) == 3400 + 6 * 3 * 100 + 3 * 300  # 6100
    # without autocast PEFT's float32 copy is kept: a = 1 + 4
    assert layer_bytes(100, 300, lora=True, dropout=True, autocast=False) == 3400 + 6 * 5 * 100 + 5 * 300
    assert layer_bytes(100, 300, lora=True, dropout=False, autocast=False) == 3400 + 6 * 4 * 100 + 4 * 300


def test_lora_and_trainable_counts_by_hand() -> None:
    # r * (in + out) per adapted linear: 2*30 + 2*30 on the LM; + 2*20 with the vision tower
    assert TOY.lora_params(2, train_vision=False) == 120
    assert TOY.lora_params(2, train_vision=True) == 160
    assert TOY.trainable(lora=False, r=0, train_vision=False) == 800 and TOY.trainable(False, 0, True) == 1000


@pytest.mark.parametrize("backend,gpus,expected", [
    # P = 1000, Pt = 120 (LoRA r 2), largest layer 100
    ("zero2", 8, (2 * 1120, 2 * 120 / 8, 12 * 120 / 8)),
    ("ddp", 8, (4 * 1000 + 4 * 120, 2 * 4 * 120, 8 * 120)),
    ("zero3", 8, (2 * 1120 / 8 + 2 * 2 * 100, 2 * 120 / 8, 12 * 120 / 8)),
    ("fsdp", 8, (4 * 1120 / 8 + 2 * 2 * 100, 4 * 120 / 8, 8 * 120 / 8)),
    ("local", 1, (2 * 1000 + 4 * 120, 4 * 120, 8 * 120)),
])
def test_static_memory_by_hand(backend: str, gpus: int, expected: tuple[float, float, float]) -> None:
    got = static_memory(TOY, _w(lora=True, lora_r=2), backend, gpus)
    assert (got["weights"], got["gradients"], got["optimizer"]) == pytest.approx(expected)
    assert got["overhead"] == (0 if backend == "local" else 2**30)


def test_full_finetune_keeps_autocast_copies_on_single() -> None:
    got = static_memory(TOY, _w(), "single", 1)  # Pt = 800 (vision frozen)
    assert (got["weights"], got["gradients"], got["optimizer"]) == (4 * 1000 + 2 * 800, 4 * 800, 8 * 800)


def test_sft_activations_by_hand() -> None:
    # T = 50 + 30 + 20 = 100 tokens, one sequence, full fine-tune: 4600 bytes per token and layer
    act = activation_memory(TOY, _w())
    assert act["activations"] == 2 * 100 * 4600 + 100 * (4 + 2) * 100  # 2 layers + the final norm
    assert act["logits"] == 100 * 1000 * 16 and act["transient"] == 100 * 1000 * 16  # logits beat 1 layer
    ckpt = activation_memory(TOY, _w(checkpointing=True))
    assert ckpt["activations"] == 2 * 100 * 2 * 100 + 100 * 6 * 100  # only each layer's input
    small_vocab = ModelShape(**{**TOY.__dict__, "vocab": 10})
    assert activation_memory(small_vocab, _w(checkpointing=True))["transient"] == 2 * 100 * 4600  # recompute x2


def test_dpo_under_checkpointing_scores_only_the_answers() -> None:
    act = activation_memory(TOY, _w(kind="dpo", batch=2, checkpointing=True))
    # 2 pairs -> 4 full sequences of 100 tokens; logits on 20 answer tokens + 1 per sequence
    assert act["logits"] == 4 * 21 * 1000 * 16
    assert act["activations"] == 2 * 400 * 2 * 100 + 400 * 6 * 100


def test_video_tokens_follow_the_resize_rules() -> None:
    spec = VisionSpec()  # Qwen2.5-VL without video_preprocessor_config.json: video 100352..602112 pixels
    # 64 frames of 448x448 at the TEMPLE cap 448*448: 32 frame pairs x (32x32 patches / 4) + vision start/end
    vt = video_tokens(spec, 64, "mrope", max_pixels=448 * 448, source=(448, 448))
    assert (vt.size, vt.lm_tokens, vt.vision_rows) == ((448, 448), 32 * 256 + 2, 32 * 1024)
    # text markers: one block per pair with start/end and a 6-token marker
    assert video_tokens(spec, 64, "text", max_pixels=448 * 448, source=(448, 448)).lm_tokens == 32 * (256 + 2 + 6)
    # TEMPURA: 320x180 frames capped at 57600: smart_resize rounds 180x320 up to 196x336 (14x24 patches) ->
    # 84 tokens + start/end per frame, each frame its own image
    vt = video_tokens(spec, 256, "overlay", max_pixels=57600, source=(180, 320))
    assert (vt.size, vt.lm_tokens, vt.vision_rows) == ((196, 336), 256 * 86, 256 * 336)


def test_presets_are_read_with_their_methods_config() -> None:
    from tempoforge.plan.presets import read_preset

    got = {}
    for name in ("temple_qwen25vl_7b", "tempura_qwen25vl_3b", "d2vlm_qwen25vl_7b", "tempo_r0_qwen25vl_7b"):
        plan = read_preset(REPO / "configs" / "train" / f"{name}.yaml")
        got[name] = (plan.method, [s.kind for s in plan.stages], [s.optim.gradient_checkpointing for s in plan.stages])
    assert got == {"temple_qwen25vl_7b": ("temple", ["dpo", "sft"], [True, True]),
                   "tempura_qwen25vl_3b": ("tempura", ["sft", "sft"], [True, True]),
                   "d2vlm_qwen25vl_7b": ("d2vlm", ["evidence", "fpo"], [False, False]),
                   "tempo_r0_qwen25vl_7b": ("tempo-r0", ["grpo"], [True])}


@pytest.mark.parametrize("config,expected", [("zero2", ("zero2", 8)), ("zero3", ("zero3", 8)), ("fsdp", ("fsdp", 8)),
                                             ("ddp", ("ddp", 8)), ("cpu_ddp_2proc", ("ddp", 2))])
def test_accelerate_configs_name_their_backend(config: str, expected: tuple[str, int]) -> None:
    from tempoforge.plan.commands import backend_of

    assert backend_of(REPO / "configs" / "accelerate" / f"{config}.yaml") == expected


def test_real_7b_weights_under_zero2_are_two_bytes_per_parameter() -> None:
    from tempoforge.plan.presets import read_preset, resolve_model, stage_video, workload
    from tempoforge.plan.shapes import model_shape

    plan = read_preset(REPO / "configs/train/temple_qwen25vl_7b.yaml")
    ref = resolve_model(plan.model)
    shape = model_shape(ref.config)
    st = plan.stages[0]
    est = estimate(shape, workload(st, stage_video(st, ref)), "zero2", 8)
    assert shape.params == 8_292_166_656  # Qwen2.5-VL-7B-Instruct
    assert est.parts["weights"] == 2 * (shape.params + shape.lora_params(32, False))
    # 720p decoded under the 200704-pixel cap: 596x336; smart_resize -> 588x336 = 42x24 patches = 252 tokens per
    # frame pair; 32 pairs + vision start/end, a 96-token prompt and a 64-token answer
    assert est.tokens == 32 * 252 + 2 + 96 + 64


def test_plan_of_a_checkpoint_directory(tmp_path: Path) -> None:
    from tempoforge.models.tiny import build_tiny
    from tempoforge.plan.commands import make_plan

    lm = build_tiny("qwen2_5_vl", tmp_path / "tiny")
    p = make_plan(REPO / "configs/train/temple_qwen25vl_7b.yaml", model=str(tmp_path / "tiny"), backend="ddp",
                  gpus=2, gpu_mem=2.0, source=(56, 56), prompt_tokens=10, answer_tokens=5)
    assert p["params"] == sum(x.numel() for x in lm.model.parameters())
    assert p["model"] == f"checkpoint {tmp_path / 'tiny'}"
    assert all(s["fits"] for s in p["stages"])  # a tiny model fits beside the 1 GiB CUDA context


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tempoforge.cli", "plan", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=300)


def test_plan_cli() -> None:
    ok = _cli("--config", "configs/train/temple_qwen25vl_7b.yaml", "--accelerate", "configs/accelerate/zero2.yaml")
    assert ok.returncode == 0, ok.stderr
    assert "Qwen2.5-VL-7B-Instruct: 8.29B parameters" in ok.stdout
    assert "zero2 on 8 GPU(s) x 80 GiB" in ok.stdout and "dpo (r = 16, 8, 4, 2)" in ok.stdout
    small = _cli("--config", "configs/train/temple_qwen25vl_7b.yaml", "--gpus", "8", "--gpu-mem", "24")
    assert small.returncode == 1 and " NO" in small.stdout  # 15.6 GiB of bf16 weights alone on each GPU
    missing = _cli("--config", "nope.yaml")
    assert missing.returncode == 2
    assert missing.stderr.startswith("tempoforge: error: nope.yaml: no such file, and not the name of a preset (presets:")
    by_name = _cli("--config", "temple_qwen25vl_7b")  # a shipped preset by its name
    assert by_name.returncode == 0 and "dpo (r = 16, 8, 4, 2)" in by_name.stdout
    bad = _cli("--config", "configs/train/temple_qwen25vl_7b.yaml", "--source", "720")
    assert bad.returncode == 2 and "--source must be HEIGHTxWIDTH" in bad.stderr
