"""Memory per GPU of one training stage: static state per distributed backend, plus activations.

Everything is in bytes. Symbols: ``P`` all parameters, ``Pt`` trainable ones, ``N`` processes (GPUs),
``h`` / ``i`` hidden and MLP widths, ``kv`` = key/value heads x head_dim, ``T`` tokens of a sequence,
``V`` vocabulary.

**Static state** (``static_memory``). What the recipes really do: ``load`` puts the weights in float32 on
the CPU and the ``Trainer`` moves them; ``bf16: true`` is autocast.

=========  ==================================  ===================  ============================
backend    weights                             gradients            optimizer (AdamW)
=========  ==================================  ===================  ============================
local      2P bf16 (+ 4Pt fp32 LoRA)           4Pt LoRA / 2Pt full  8Pt LoRA / 4Pt full (bf16 states)
single     4P fp32 (+ 4Pt LoRA)                4Pt                  8Pt
ddp        4P fp32 (+ 4Pt LoRA)                8Pt (grads + DDP     8Pt
                                               buckets)
zero2      2P bf16 (DeepSpeed casts)           2Pt / N              12Pt / N (fp32 master + 2 states)
zero3      2P / N + 2 gathered layers (bf16)   2Pt / N              12Pt / N
fsdp       4P / N fp32 + 2 gathered layers     4Pt / N              8Pt / N
=========  ==================================  ===================  ============================

``local`` is what ``plan --measure`` runs: one process, the weights built in bf16, no autocast.
ZeRO: Rajbhandari et al. 2020 (mixed-precision Adam K = 12); the "gathered layers" are the layer being
computed and the prefetched next one. A full fine-tune under ``single`` / ``ddp`` also keeps autocast's
bf16 copy of the trainable weights (2Pt). A GPU process adds ~1 GiB (CUDA context, cuBLAS workspaces).

**Activations** of one micro-batch (bf16, 2 bytes per value). Per token and decoder layer a layer keeps for
its backward (``layer_bytes``): the two RMSNorms' float32 inputs (2 x 4h), SDPA's q, k, v and output with
k / v repeated to all heads (4 x 2h), the MLP's gate, up and SiLU(gate) (3 x 2i); then, for a full
fine-tune, the inputs of the trained linears (q/k/v, o, gate/up: 3 x 2h; down: 2i), or, for LoRA, what each
adapted linear's branch keeps of its input: PEFT casts it to the adapter's float32, so 4 bytes per value
without autocast and autocast's 2-byte copy with it, plus a 1-byte dropout mask (q, k, v, o, gate, up: 6h;
down: i). Under gradient checkpointing only each layer's input (2h) is kept and one layer is recomputed at a
time; its backward needs about as much again for the gradients it produces, so the layer being recomputed
counts twice (measured on CPU at 7B widths, 2,400 tokens: 2.0-2.6 x). Without checkpointing all layers keep
theirs and the backward adds one layer's worth. Logits: ``V`` values per scored position, kept in bf16 (2),
upcast to float32 (4) and log-softmaxed (4), with float32 + bf16 gradients in the backward (6): 16 bytes per
value at the loss. Positions scored: every position in SFT (transformers' loss takes the logits of the whole
sequence), only the answers in DPO / GRPO / FPO.

The vision tower keeps activations only when it trains (the same per-row formula with its widths and
plain attention); frozen, it runs one block at a time.

Workloads (``Workload.kind``): ``sft`` (b sequences), ``dpo`` (under checkpointing 2b full sequences, as
``train/logps.py`` then scores each; else b prefixes + 2b continuations on their KV cache), ``grpo``
(sampling: the prompt repeated G times with a KV cache, no gradients; loss: G·b sequences, as ``dpo``),
``evidence`` / ``fpo`` (D2VLM: one prefix and 1 / 2 continuations, never checkpointed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # shapes imports torch; the CLI reads BACKENDS without it
    from tempoforge.plan.shapes import ModelShape

__all__ = ["BACKENDS", "GIB", "Estimate", "Workload", "activation_memory", "estimate", "layer_bytes",
           "static_memory"]

GIB = 2**30
BACKENDS = ("local", "single", "ddp", "zero2", "zero3", "fsdp")
CUDA_OVERHEAD = 1 * GIB
LOGIT_BYTES = 16
KINDS = ("sft", "dpo", "grpo", "evidence", "fpo")


@dataclass(frozen=True)
class Workload:
    """One micro-step of a stage, per process."""

    kind: str  # sft | dpo | grpo | evidence | fpo
    batch: int  # per-device batch: sequences (sft), pairs (dpo, fpo), prompts (grpo)
    video_tokens: int  # LM tokens of one sample's video
    vision_rows: int  # vision-tower patch rows of one sample's video
    prompt_tokens: int  # text of the prompt (chat template included)
    answer_tokens: int  # answer (sft, dpo, fpo) or completion (grpo, max_new_tokens)
    lora: bool
    lora_r: int = 0
    lora_dropout: bool = True
    train_vision: bool = False
    checkpointing: bool = False
    generations: int = 1  # grpo: completions per prompt
    reference_copy: bool = False  # grpo full fine-tune with a KL term keeps a frozen copy of the model

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    @property
    def prefix_tokens(self) -> int:
        return self.video_tokens + self.prompt_tokens

    @property
    def sequence_tokens(self) -> int:
        return self.prefix_tokens + self.answer_tokens


def layer_bytes(h: int, i: int, *, lora: bool, dropout: bool, autocast: bool = True) -> int:
    """Bytes one decoder layer keeps per token for its backward (see the module doc)."""
    common = 2 * 4 * h + 4 * 2 * h + 3 * 2 * i  # RMSNorm fp32 inputs; SDPA q, k, v, out; gate, up, SiLU(gate)
    if lora:
        a = (1 if dropout else 0) + (2 if autocast else 4)  # the adapter's copy of its input (+ dropout mask)
        return common + 6 * a * h + a * i
    return common + 3 * 2 * h + 2 * i


def static_memory(shape: ModelShape, w: Workload, backend: str, gpus: int) -> dict[str, float]:
    """Weights, gradients and optimizer states per process (bytes), and the CUDA overhead."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    p = float(shape.params)
    pt = float(shape.trainable(w.lora, w.lora_r, w.train_vision))
    n = max(1, gpus)
    largest = float(max(shape.layer_params, shape.vision_block_params))
    extra = pt if w.lora else 0.0  # LoRA weights live beside the base weights
    if backend == "local":
        weights = 2 * p + 4 * extra
        grads = 4 * pt if w.lora else 2 * pt
        optim = 8 * pt if w.lora else 4 * pt
    elif backend in ("single", "ddp"):
        weights = 4 * p + 4 * extra + (0 if w.lora else 2 * pt)  # + autocast's bf16 copy of trained weights
        grads = 4 * pt * (2 if backend == "ddp" and n > 1 else 1)
        optim = 8 * pt
    elif backend == "zero2":
        weights, grads, optim = 2 * (p + extra), 2 * pt / n, 12 * pt / n
    elif backend == "zero3":
        weights, grads, optim = 2 * (p + extra) / n + 2 * 2 * largest, 2 * pt / n, 12 * pt / n
    else:  # fsdp
        weights, grads, optim = 4 * (p + extra) / n + 2 * 2 * largest, 4 * pt / n, 8 * pt / n
    if w.reference_copy:
        weights += 2 * p if backend == "local" else (4 * p if backend in ("single", "ddp") else 2 * p / n)
    return {"weights": weights, "gradients": grads, "optimizer": optim,
            "overhead": 0 if backend == "local" else CUDA_OVERHEAD}


def _forward_backward(shape: ModelShape, w: Workload, rows: int, tokens: int, scored: int,
                      checkpointing: bool, vision_videos: int, autocast: bool) -> dict[str, float]:
    """Stored activations and the peak transient of one forward + backward over ``rows`` x ``tokens``."""
    h, i = shape.hidden, shape.intermediate
    per_layer = layer_bytes(h, i, lora=w.lora, dropout=w.lora_dropout, autocast=autocast)
    total = rows * tokens
    if checkpointing:
        stored = shape.layers * total * 2 * h
        transient = 2 * total * per_layer
    else:
        stored = shape.layers * total * per_layer
        transient = total * per_layer
    stored += total * (4 * h + 2 * h)  # final norm
    vrows = vision_videos * w.vision_rows
    hv, iv = shape.vision_hidden, shape.vision_intermediate
    vis_layer = layer_bytes(hv, iv, lora=w.lora and w.train_vision, dropout=w.lora_dropout, autocast=autocast)
    vision_stored = 0.0
    vision_transient = vrows * vis_layer
    if w.train_vision:
        vision_stored = shape.vision_depth * vrows * (2 * hv if checkpointing else vis_layer)
        vision_transient *= 2
    logits = scored * shape.vocab * LOGIT_BYTES
    return {"activations": stored + vision_stored,
            "transient": max(logits, transient, vision_transient), "logits": logits}


def activation_memory(shape: ModelShape, w: Workload, autocast: bool = True) -> dict[str, float]:
    """The activation part of the peak (bytes): what is stored plus the largest transient, for the phase of
    the step that peaks (GRPO: sampling or the loss). ``autocast``: bf16 autocast (GPU training) or not."""
    b = w.batch
    a = autocast
    ans = w.answer_tokens + 1  # the answer and the position that predicts its first token
    if w.kind == "sft":
        return _forward_backward(shape, w, b, w.sequence_tokens, b * w.sequence_tokens, w.checkpointing, b, a)
    if w.kind in ("dpo", "grpo"):
        conts = 2 * b if w.kind == "dpo" else w.generations * b
        if w.checkpointing:  # full sequences, the video encoded once per continuation (train/logps.py)
            out = _forward_backward(shape, w, conts, w.sequence_tokens, conts * ans, True, conts, a)
        else:
            pre = _forward_backward(shape, w, b, w.prefix_tokens, b, False, b, a)
            cont = _forward_backward(shape, w, conts, w.answer_tokens, conts * ans, False, 0, a)
            kv = shape.layers * b * w.prefix_tokens * 2 * 2 * shape.kv_heads * shape.head_dim * (conts // b)
            out = {"activations": pre["activations"] + cont["activations"] + kv,
                   "transient": max(pre["transient"], cont["transient"]), "logits": cont["logits"]}
        if w.kind == "grpo":  # sampling: prompts repeated G times, KV cache, one layer's forward at a time
            seqs = w.generations * b
            cache = shape.layers * seqs * w.sequence_tokens * 2 * 2 * shape.kv_heads * shape.head_dim
            prefill = seqs * w.prefix_tokens * 2 * (4 * shape.hidden + 3 * shape.intermediate)
            sample = cache + prefill
            if sample > out["activations"] + out["transient"]:
                return {"activations": cache, "transient": prefill, "logits": seqs * shape.vocab * LOGIT_BYTES}
        return out
    # D2VLM (models/evidence.py): one prefix per item, 1 (evidence SFT) or 2 (FPO) continuations, no checkpointing
    conts = b if w.kind == "evidence" else 2 * b
    pre = _forward_backward(shape, w, b, w.prefix_tokens, b, False, b, a)
    cont = _forward_backward(shape, w, conts, w.answer_tokens, conts * ans, False, 0, a)
    kv = shape.layers * b * w.prefix_tokens * 2 * 2 * shape.kv_heads * shape.head_dim * (conts // b)
    return {"activations": pre["activations"] + cont["activations"] + kv,
            "transient": max(pre["transient"], cont["transient"]), "logits": cont["logits"]}


@dataclass
class Estimate:
    """One stage's memory per process, in bytes (``parts``) and the peak."""

    backend: str
    gpus: int
    params: int
    trainable: int
    tokens: int  # LM tokens of one sequence
    parts: dict[str, float] = field(default_factory=dict)

    @property
    def peak(self) -> float:
        p = self.parts
        return p["weights"] + p["gradients"] + p["optimizer"] + p["overhead"] + p["activations"] + p["transient"]

    def fits(self, gpu_mem_gib: float, headroom: float = 0.95) -> bool:
        """Whether the peak stays under ``headroom`` of the GPU's memory (allocator fragmentation)."""
        return self.peak <= headroom * gpu_mem_gib * GIB


def estimate(shape: ModelShape, w: Workload, backend: str = "zero2", gpus: int = 8,
             autocast: bool | None = None) -> Estimate:
    """The memory plan of workload ``w`` on ``shape`` under ``backend`` with ``gpus`` processes.

    ``autocast`` defaults to True on the GPU backends and False for ``local`` (a CPU measurement)."""
    parts = static_memory(shape, w, backend, gpus)
    parts.update(activation_memory(shape, w, backend != "local" if autocast is None else autocast))
    return Estimate(backend=backend, gpus=gpus, params=shape.params,
                    trainable=shape.trainable(w.lora, w.lora_r, w.train_vision), tokens=w.sequence_tokens,
                    parts=parts)
