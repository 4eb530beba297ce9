"""Real architectures at random init: published Qwen-VL configurations, built offline, optionally cut in depth.

``init_real("qwen2_5_vl", "7b", out_dir, layers=2)`` writes a checkpoint directory in the stock layout
(``config.json``, safetensors weights, tokenizer, chat template, ``preprocessor_config.json`` and, where the
real repository ships one, ``video_preprocessor_config.json``) with the *published* architecture of
``Qwen/Qwen2.5-VL-7B-Instruct`` (``models/real_archs.py``): hidden sizes, heads, vocabulary size, vision
tower, M-RoPE sections, special-token ids, processor constants. Only the weights are random. Every
tempoforge command reads it like the real checkpoint, so a shape, dtype or memory mistake on the real path
shows up without a download.

``layers`` cuts the language model to that many decoder layers and ``vision_layers`` (default: ``layers``)
the vision tower to that many blocks; widths never change. Layer-index lists are kept consistent:
Qwen2.5-VL's full-attention blocks keep their published indexes below the cut, or the last block when none
is (so a cut tower still mixes window and full attention); Qwen3-VL's deepstack indexes are scaled into the
cut tower (``i * vision_layers // depth``, duplicates dropped, so 2 blocks keep 2 deepstack mergers of 3).

The tokenizer is built offline (``tokenizers``): a small byte-level BPE trained in code on
``tiny._CORPUS`` (a few hundred merges), its vocabulary padded with unreachable ``<|unused_N|>`` entries to
the real 151,643 regular tokens, then the real special tokens in their published order, so every special
id (``<|im_end|>`` 151645, ``<|vision_start|>`` 151652, ``<|video_pad|>`` 151656, ...) is the published
one. What differs from the real tokenizer: the regular tokens (real text tokenises into different, more,
ids; sequence lengths of text differ, vision-token counts do not). The chat template is TRL's copy of the
family's template (as ``build_tiny``); ``generation_config`` is greedy (random weights).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Literal

from tempoforge.errors import UserError
from tempoforge.models.families import get_family
from tempoforge.models.load import LoadedModel, tokenizer_token_ids
from tempoforge.models.real_archs import ARCHS, FIRST_SPECIAL_ID, RealArch
from tempoforge.models.tensorize import VisionSpec

__all__ = [
    "arch_for_model",
    "build_real_tokenizer",
    "fast_random_init",
    "get_arch",
    "init_real",
    "real_config",
    "sizes",
    "write_processor_configs",
]

_DTYPES = ("bfloat16", "float32", "float16")


def sizes(family: str) -> list[str]:
    """The sizes with a published architecture for ``family``."""
    return sorted(s for f, s in ARCHS if f == family)


def get_arch(family: str, size: str) -> RealArch:
    """The :class:`RealArch` of ``family`` at ``size``; a one-line :class:`UserError` listing the choices."""
    get_family(family)  # unsupported family: the standard message
    arch = ARCHS.get((family, size.lower()))
    if arch is None:
        raise UserError(f"no published {family} architecture of size {size!r}; choose one of "
                        f"{', '.join(sizes(family))}")
    return arch


def _norm(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def arch_for_model(model: str) -> RealArch | None:
    """The published architecture a model path names (``/models/Qwen2.5-VL-7B-Instruct`` -> Qwen2.5-VL-7B).

    Matches the last path component against the repository names, ignoring case and punctuation; None when
    nothing matches (the caller then needs the checkpoint's own ``config.json``).
    """
    name = _norm(Path(model).name)
    for arch in ARCHS.values():
        stem = _norm(arch.name.replace("-Instruct", ""))
        if name.startswith(stem):
            return arch
    return None


def _cut(config: dict[str, Any], family: str, layers: int | None, vision_layers: int | None) -> dict[str, Any]:
    """A copy of a published ``config.json`` dict with fewer decoder layers / vision blocks."""
    cfg = copy.deepcopy(config)
    text = cfg.get("text_config", cfg)
    vision = cfg["vision_config"]
    n_text, depth = int(text["num_hidden_layers"]), int(vision["depth"])
    if layers is not None:
        if not 1 <= layers <= n_text:
            raise UserError(f"--layers must be in 1..{n_text} for this architecture, got {layers}")
        text["num_hidden_layers"] = layers
        if "max_window_layers" in text:
            text["max_window_layers"] = min(int(text["max_window_layers"]), layers)
    vl = vision_layers if vision_layers is not None else layers
    if vl is not None:
        if not 1 <= vl <= depth:
            raise UserError(f"--vision-layers must be in 1..{depth} for this architecture, got {vl}")
        vision["depth"] = vl
        if "fullatt_block_indexes" in vision:
            vision["fullatt_block_indexes"] = [i for i in vision["fullatt_block_indexes"] if i < vl] or [vl - 1]
        if "deepstack_visual_indexes" in vision:
            vision["deepstack_visual_indexes"] = sorted({i * vl // depth for i in vision["deepstack_visual_indexes"]})
    return cfg


def real_config(arch: RealArch, layers: int | None = None, vision_layers: int | None = None) -> Any:
    """The transformers config of ``arch`` (built from the published dict the way ``from_pretrained`` does)."""
    import transformers

    cls = {"qwen2_vl": transformers.Qwen2VLConfig, "qwen2_5_vl": transformers.Qwen2_5_VLConfig,
           "qwen3_vl": transformers.Qwen3VLConfig}[arch.family]
    return cls.from_dict(_cut(arch.config, arch.family, layers, vision_layers))


def build_real_tokenizer(arch: RealArch) -> Any:
    """An offline ``Qwen2Tokenizer`` whose special tokens have the published ids (see the module doc)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    from tempoforge.models.tiny import _CORPUS

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=2048, special_tokens=[], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(list(_CORPUS) * 4, trainer)
    state = json.loads(bpe.to_str())
    vocab: dict[str, int] = dict(state["model"]["vocab"])
    for i in range(len(vocab), FIRST_SPECIAL_ID):  # unreachable fillers: no merge produces them
        vocab[f"<|unused_{i}|>"] = i
    merges: Any = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in state["model"]["merges"]]
    tok = Qwen2Tokenizer(vocab=vocab, merges=merges, unk_token=arch.specials[0])
    tok.add_special_tokens({"additional_special_tokens": list(arch.specials)})
    got = tok.convert_tokens_to_ids(list(arch.specials))
    want = list(range(FIRST_SPECIAL_ID, FIRST_SPECIAL_ID + len(arch.specials)))
    if got != want:  # the whole point of this tokenizer: fail loudly rather than write wrong ids
        raise RuntimeError(f"special token ids {got} differ from the published {want}")
    tok.eos_token, tok.pad_token = "<|im_end|>", "<|endoftext|>"
    return tok


def init_real(family: str, size: str, out_dir: str | Path | None = None, *, layers: int | None = None,
              vision_layers: int | None = None, dtype: str = "bfloat16", seed: int = 0) -> LoadedModel:
    """A random-initialised model with the published architecture of ``family`` / ``size`` (see module doc).

    The weights are created directly in ``dtype``. With ``out_dir`` the checkpoint is written there in the
    stock layout (weights, tokenizer, chat template, processor configs) and the returned model is that one.
    """
    import torch
    import transformers
    import trl.chat_template_utils as ctu

    if dtype not in _DTYPES:
        raise UserError(f"dtype must be one of {', '.join(_DTYPES)}, got {dtype!r}")
    arch = get_arch(family, size)
    fam = get_family(family)
    config = real_config(arch, layers, vision_layers)
    tok = build_real_tokenizer(arch)
    tok.chat_template = getattr(ctu, fam.trl_chat_template)
    ids = tokenizer_token_ids(tok)
    from transformers.initialization import no_init_weights

    with no_init_weights():  # allocate only; transformers' normal_ init of 8B parameters takes minutes on CPU
        model = getattr(transformers, fam.model_class)._from_config(config, dtype=getattr(torch, dtype)).eval()
    model.tie_weights()
    fast_random_init(model, seed)
    gen = model.generation_config
    gen.eos_token_id, gen.pad_token_id, gen.bos_token_id = [ids["eos"], ids["pad"]], ids["pad"], FIRST_SPECIAL_ID
    gen.do_sample = False
    path = None
    if out_dir is not None:
        path = Path(out_dir)
        path.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(path)
        tok.save_pretrained(path)
        write_processor_configs(arch, path)
    budget: Literal["per_frame", "total"] = "total" if fam.native_text_timestamps else "per_frame"
    spec = VisionSpec.from_configs(arch.preprocessor, arch.video_preprocessor, budget=budget)
    return LoadedModel(model=model, tokenizer=tok, family=fam, vision=spec, path=path)


_BANK = 1_000_003  # a prime, so the bank's period never aligns with a weight matrix's rows


def fast_random_init(model: Any, seed: int = 0, std: float = 0.02) -> None:
    """Fill every parameter in place: norm weights 1, biases 0, the rest N(0, ``std``) values.

    The normal values come from one seeded bank of ~1M draws, copied in at a random offset per tensor (a
    plain ``normal_`` over 8B parameters takes minutes on CPU; copying takes seconds). Rows of a matrix
    repeat the bank only every ~1M values, shifted by the bank's prime length, so no two rows are equal.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    bank = torch.randn(_BANK, generator=gen) * std
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1:
                p.fill_(0.0 if name.endswith("bias") else 1.0)
                continue
            flat = p.view(-1)
            off = int(torch.randint(0, _BANK, (1,), generator=gen))
            src = torch.cat([bank[off:], bank[:off]]).to(p.dtype)
            whole = flat.numel() // _BANK  # one strided copy (chunked copies of fresh pages are ~10x slower)
            flat[: whole * _BANK].view(whole, _BANK).copy_(src.expand(whole, _BANK))
            flat[whole * _BANK:].copy_(src[: flat.numel() - whole * _BANK])


def write_processor_configs(arch: RealArch, out: Path) -> None:
    """``preprocessor_config.json`` (and ``video_preprocessor_config.json`` where the real repo has one)."""
    (out / "preprocessor_config.json").write_text(json.dumps(arch.preprocessor, indent=2))
    if arch.video_preprocessor is not None:
        (out / "video_preprocessor_config.json").write_text(json.dumps(arch.video_preprocessor, indent=2))
