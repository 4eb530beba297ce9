"""The plumbing every trainer shares (train/base.py): ``LossTrainer.create`` builds a real ``transformers.Trainer``,
``record`` values are logged as their mean per step, ``use_progress_bar`` replaces the per-step printing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tempoforge.train.base import (
    LossTrainer,
    OptimSettings,
    ProgressBar,
    loss_history,
    over_transformers,
    training_arguments,
    use_progress_bar,
)


class SquareTrainer(LossTrainer):
    """Loss = mean of ``model(x)^2``; records the loss twice over (``twice``) and a constant per micro-batch."""

    def __init__(self, *args: Any, offset: float, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.offset = offset

    def compute_loss(self, model: Any, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        loss = model(inputs["x"]).pow(2).mean()
        self.record("twice", 2 * loss.detach())
        self.record("calls", self.offset)
        return loss


def _trainer(tmp_path: Path, grad_accum: int = 1, steps: int = 3) -> Any:
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    data = [{"x": torch.randn(4)} for _ in range(8)]
    opt = OptimSettings(learning_rate=0.05, max_steps=steps, batch_size=2, grad_accum=grad_accum, warmup_ratio=0.0,
                        scheduler="constant")
    return SquareTrainer.create(model=model, args=training_arguments(opt, tmp_path), train_dataset=data,
                                data_collator=lambda rows: {"x": torch.stack([r["x"] for r in rows])}, offset=3.0)


def test_create_builds_a_transformers_trainer_of_the_subclass(tmp_path: Path) -> None:
    from transformers import Trainer

    trainer = _trainer(tmp_path)
    assert isinstance(trainer, SquareTrainer) and isinstance(trainer, Trainer)
    assert type(trainer).__name__ == "SquareTrainer" and trainer.offset == 3.0
    assert type(trainer) is type(_trainer(tmp_path))  # the class over Trainer is made once
    assert not issubclass(SquareTrainer, Trainer)  # importing a trainer module does not import Trainer


def test_recorded_values_are_logged_as_their_mean_per_step(tmp_path: Path) -> None:
    trainer = _trainer(tmp_path, grad_accum=2)
    use_progress_bar(trainer, show=False)
    trainer.train()
    losses = loss_history(trainer)
    twice = loss_history(trainer, "twice")
    # 3 steps, 2 micro-batches each: "twice" is the mean of 2 * loss over both, as the logged loss is their mean
    assert len(losses) == len(twice) == 3
    assert twice == pytest.approx([2 * x for x in losses], abs=2e-3)  # transformers rounds the loss to 4 dp
    assert loss_history(trainer, "calls") == [3.0, 3.0, 3.0]
    assert losses[-1] < losses[0]  # it trains


def test_progress_bar_replaces_the_per_step_printing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer = _trainer(tmp_path)
    use_progress_bar(trainer, "sq", keys=("loss", "twice"), show=True)
    kinds = [type(c) for c in trainer.callback_handler.callbacks]
    assert PrinterCallback not in kinds and ProgressCallback not in kinds
    assert over_transformers(ProgressBar, "TrainerCallback") in kinds
    trainer.train()
    err = capsys.readouterr().err
    assert "sq: 100%" in err and "twice=" in err and "{'loss'" not in err
    silent = _trainer(tmp_path)
    use_progress_bar(silent, show=False)
    silent.train()
    out = capsys.readouterr()
    assert "100%" not in out.err and "{'loss'" not in out.out
