"""What every trainer shares: optimisation settings, ``TrainingArguments``, the trainer base class with its
per-step statistics, the progress bar, a vision-tower probe, run records.

Every trainer is a ``transformers.Trainer`` (so ``accelerate launch`` with DDP / DeepSpeed / FSDP works
unchanged) whose only override is the loss: a :class:`LossTrainer` subclass defining ``compute_loss``, built
with ``.create(**trainer_kwargs)``. ``VisionProbe`` counts the vision tower's forward calls so that a run
can prove the video tensors reached the forward that computed its loss — TRL's GRPOTrainer, for one,
silently drops them (DESIGN.md, platform facts).

Importing ``transformers.Trainer`` takes seconds, so the classes here are written against it only for the
type checker; :func:`over_transformers` puts ``transformers``' class under them on first use.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from tempoforge.train.settings import OptimSettings

if TYPE_CHECKING:
    from transformers import Trainer as _TrainerBase
    from transformers import TrainerCallback as _CallbackBase
else:
    _TrainerBase = _CallbackBase = object

__all__ = ["LossTrainer", "OptimSettings", "ProgressBar", "VisionProbe", "find_vision_tower", "loss_history",
           "over_transformers", "training_arguments", "use_progress_bar", "write_run_record"]


def training_arguments(opt: OptimSettings, output_dir: Path, **overrides: Any) -> Any:
    """``transformers.TrainingArguments`` for ``opt`` (CPU-safe: no bf16 without a GPU, no reporting)."""
    from transformers import TrainingArguments

    cuda = torch.cuda.is_available()
    kwargs: dict[str, Any] = dict(
        output_dir=str(output_dir),
        learning_rate=opt.learning_rate,
        max_steps=opt.max_steps if opt.max_steps > 0 else -1,
        num_train_epochs=opt.epochs,
        per_device_train_batch_size=opt.batch_size,
        gradient_accumulation_steps=opt.grad_accum,
        warmup_steps=opt.warmup_ratio,  # a float < 1 is a fraction of the steps in transformers 5
        weight_decay=opt.weight_decay,
        lr_scheduler_type=opt.scheduler,
        max_grad_norm=opt.max_grad_norm,
        seed=opt.seed,
        data_seed=opt.seed,
        logging_steps=1,
        save_strategy="steps" if opt.save_steps > 0 else "no",
        save_steps=opt.save_steps if opt.save_steps > 0 else 500,
        report_to=[],
        remove_unused_columns=False,
        dataloader_num_workers=0,
        bf16=bool(opt.bf16 and cuda),
        use_cpu=not cuda,
        activation_checkpointing=opt.gradient_checkpointing,
        disable_tqdm=True,
        ddp_find_unused_parameters=opt.ddp_find_unused_parameters,
    )
    kwargs.update(overrides)
    return TrainingArguments(**kwargs)


def find_vision_tower(model: Any) -> torch.nn.Module:
    """The vision encoder module of a Qwen-VL model (through PEFT wrappers)."""
    for name, module in model.named_modules():
        if name.endswith("visual") or name.endswith("vision_tower"):
            return module
    raise ValueError("no vision tower found in the model (expected a module named '...visual')")


class VisionProbe:
    """Counts vision-tower forward calls and the pixel rows they received while active.

    with VisionProbe(model) as probe:
        loss = trainer.compute_loss(model, batch)
    assert probe.calls > 0 and probe.rows > 0
    """

    def __init__(self, model: Any) -> None:
        self.module = find_vision_tower(model)
        self.calls = 0
        self.rows = 0
        self._handle: Any = None

    def _hook(self, module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.calls += 1
        x = args[0] if args else next(iter(kwargs.values()), None)
        if isinstance(x, torch.Tensor):
            self.rows += int(x.shape[0])

    def __enter__(self) -> VisionProbe:
        self._handle = self.module.register_forward_pre_hook(self._hook, with_kwargs=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.remove()


def loss_history(trainer: Any, key: str = "loss") -> list[float]:
    """The logged values of ``key`` per step from a finished ``Trainer``."""
    return [float(row[key]) for row in trainer.state.log_history if key in row]


def write_run_record(out_dir: Path, **record: Any) -> Path:
    """Write ``tempoforge_train.json`` (settings, strategy, losses) beside a checkpoint."""
    def conv(x: Any) -> Any:
        if hasattr(x, "__dataclass_fields__"):
            return {k: conv(v) for k, v in asdict(x).items()}
        if isinstance(x, Path):
            return str(x)
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [conv(v) for v in x]
        return x

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "tempoforge_train.json"
    from tempoforge.io.jsonl import atomic_write_text

    atomic_write_text(path, json.dumps(conv(record), indent=2))
    return path


_OVER_TRANSFORMERS: dict[tuple[type, str], type] = {}


def over_transformers(cls: type, base: str) -> type:
    """``cls`` with ``transformers.<base>`` (``"Trainer"``, ``"TrainerCallback"``) as its base class, made
    once, on first use: the class ``cls.create`` / :func:`use_progress_bar` instantiate."""
    if (cls, base) not in _OVER_TRANSFORMERS:
        import transformers

        _OVER_TRANSFORMERS[cls, base] = type(
            cls.__name__, (cls, getattr(transformers, base)),
            {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__})
    return _OVER_TRANSFORMERS[cls, base]


class LossTrainer(_TrainerBase):
    """Base of tempoforge's trainers: a ``transformers.Trainer`` whose only override is ``compute_loss``.

    A subclass defines ``compute_loss`` (and an ``__init__`` taking its own keyword arguments) and is built
    with ``MyTrainer.create(model=..., args=..., train_dataset=..., **own)``. Values passed to
    :meth:`record` during the loss (rewards, accuracies, loss parts) are logged at each ``log`` call as their
    mean since the previous one, beside the loss, so ``loss_history(trainer, key)`` reads them per step.
    """

    _stats: dict[str, list[float]]

    @classmethod
    def create(cls, **kwargs: Any) -> Any:
        """An instance of ``cls`` over ``transformers.Trainer`` (which is imported now, not before)."""
        return over_transformers(cls, "Trainer")(**kwargs)

    def record(self, key: str, value: float | torch.Tensor) -> None:
        """Add one value of ``key`` to the statistics of the current logging step."""
        self.__dict__.setdefault("_stats", {}).setdefault(key, []).append(float(value))

    def log(self, logs: dict[str, float], *args: Any, **kw: Any) -> None:
        for key, vals in self.__dict__.get("_stats", {}).items():
            logs[key] = sum(vals) / len(vals)
        self._stats = {}
        super().log(logs, *args, **kw)


class ProgressBar(_CallbackBase):
    """A ``TrainerCallback``: one tqdm bar over the steps with the latest value of each of ``keys`` (the first
    present in a log triggers the update); ``show=False`` draws nothing."""

    def __init__(self, desc: str = "train", keys: Sequence[str] = ("loss",), show: bool = True) -> None:
        self.desc, self.keys, self.show = desc, tuple(keys), show
        self.bar: Any = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.show and state.is_world_process_zero:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=state.max_steps, desc=self.desc, leave=False, dynamic_ncols=True)

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
        if self.bar is not None and logs and self.keys[0] in logs:
            self.bar.set_postfix({k: f"{float(logs[k]):.4f}" for k in self.keys if k in logs})

    def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.bar is not None:
            self.bar.close()


def use_progress_bar(trainer: Any, desc: str = "train", keys: Sequence[str] = ("loss",), show: bool = True) -> None:
    """Replace the Trainer's per-step log printing with a :class:`ProgressBar` (silent with ``show=False``)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(over_transformers(ProgressBar, "TrainerCallback")(desc, keys, show))
