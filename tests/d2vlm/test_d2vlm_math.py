"""D2VLM pure functions with hand-computed values: units, soft targets, losses, FPO, best run, F1."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tempoforge.eval.metrics.evidence import evidence_f1, sample_evidence_f1
from tempoforge.models.evidence import (
    best_run,
    consistency_loss,
    grounding_log_prob,
    grounding_loss,
    soft_targets,
    span_units,
    unit_bounds,
)
from tempoforge.models.evidence_generate import detokenise
from tempoforge.records import Span
from tempoforge.train.fpo import fpo_loss


def test_unit_bounds_groups_and_frames():
    # 8 frames at 1 fps, 4 units -> 2 frames per unit: [0,2) [2,4) [4,6) [6,8) (last ends one frame after 7)
    assert unit_bounds(np.arange(8.0), 4).tolist() == [[0, 2], [2, 4], [4, 6], [6, 8]]
    # 7 frames, 4 units (the last group is padded): starts 0 2 4 6, the last ends at 6 + 1 = 7
    assert unit_bounds(np.arange(7.0), 4).tolist() == [[0, 2], [2, 4], [4, 6], [6, 7]]
    # frames-as-images: one unit per frame, 0.5 s apart
    assert unit_bounds([0.0, 0.5, 1.0], 3).tolist() == [[0, 0.5], [0.5, 1.0], [1.0, 1.5]]


def test_unit_bounds_mismatch_raises():
    # 8 frames into 5 units: ceil(8 / 5) = 2 frames per unit gives 4 starts, not 5
    with pytest.raises(ValueError, match="do not split"):
        unit_bounds(np.arange(8.0), 5)


def test_span_units_half_rule():
    b = unit_bounds(np.arange(8.0), 4)
    # [1.5, 4.0]: unit 0 overlaps 0.5 of 2 (< half), unit 1 overlaps 2 -> (1, 1)
    assert span_units(Span.of(1.5, 4.0), b) == (1, 1)
    # [5, 7]: units 2 and 3 each overlap exactly half (1 of 2) -> (2, 3)
    assert span_units(Span.of(5.0, 7.0), b) == (2, 3)
    # [0.2, 0.6]: no unit half covered -> the unit of largest overlap, 0
    assert span_units((0.2, 0.6), b) == (0, 0)
    # [3.5, 6.5]: unit 1 has 0.5, unit 2 has 2, unit 3 has 0.5 -> (2, 2)
    assert span_units((3.5, 6.5), b) == (2, 2)


def test_soft_targets_halve_per_unit():
    # span units 1..2 of 5: distances 1 0 0 1 2 -> 0.5 1 1 0.5 0.25
    y = soft_targets([(1, 2), (4, 4)], 5)
    assert y.tolist() == [[0.5, 1.0, 1.0, 0.5, 0.25], [0.0625, 0.125, 0.25, 0.5, 1.0]]


def test_grounding_loss_by_hand():
    # BCE(x=0, y=1) = -log 0.5 = 0.693147; BCE(x=ln 3, y=0.5): sigmoid = 0.75,
    # -(0.5 log 0.75 + 0.5 log 0.25) = 0.5 * (0.287682 + 1.386294) = 0.836988; mean 0.765068; x10 = 7.650676
    sim = torch.tensor([[0.0, math.log(3.0)]])
    y = torch.tensor([[1.0, 0.5]])
    assert grounding_loss(sim, y).item() == pytest.approx(7.650676, abs=1e-5)
    assert grounding_loss(sim, y, weight=1.0).item() == pytest.approx(0.7650676, abs=1e-6)


def test_consistency_loss_by_hand():
    # |[1,2]-[0,2]| = [1,0], |[0,0]-[1,1]| = [1,1] -> mean 0.75 -> x10 = 7.5
    a = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    b = torch.tensor([[0.0, 2.0], [1.0, 1.0]])
    assert consistency_loss(a, b).item() == pytest.approx(7.5)


def test_grounding_log_prob_by_hand():
    # hard y = [1, 0], sim = [0, ln 3]: log(0.5) + log(1 - 0.75) = -0.693147 - 1.386294 = -2.079442
    sim = torch.tensor([[0.0, math.log(3.0)]])
    assert grounding_log_prob(sim, torch.tensor([[1.0, 0.0]])).item() == pytest.approx(-2.079442, abs=1e-5)
    # soft y = 0.5 at sigmoid 0.75: 0.5 * 0.75 + 0.5 * 0.25 = 0.5 -> log 0.5 twice = -1.386294
    assert grounding_log_prob(sim, torch.tensor([[0.5, 0.5]])).item() == pytest.approx(-1.386294, abs=1e-5)
    # the 1e-10 floor: p = 0 exactly where y = 1 -> log(1e-10) = -23.02585
    assert grounding_log_prob(torch.tensor([[-200.0]]), torch.tensor([[1.0]])).item() == pytest.approx(-23.02585, abs=1e-3)


def test_fpo_loss_by_hand():
    # beta 0.1, log pi chosen -10, rejected -12: -log sigmoid(0.2) = log(1 + e^-0.2) = 0.598139
    assert fpo_loss(torch.tensor([-10.0]), torch.tensor([-12.0]), 0.1).item() == pytest.approx(0.5981388, abs=1e-6)
    # equal log-probs -> log 2
    assert fpo_loss(torch.tensor([3.0]), torch.tensor([3.0])).item() == pytest.approx(math.log(2), abs=1e-6)


def test_best_run_threshold_and_mass():
    # max 0.9 -> threshold 0.54; kept: 1, 2, 4 -> runs (1,2) mass 1.35 and (4,4) mass 0.9 -> (1, 2)
    assert best_run([0.1, 0.7, 0.65, 0.2, 0.9, 0.3]) == (1, 2)
    # max 0.9 at 0 -> runs (0,0) mass 0.9 and (2,3) mass 1.2 -> (2, 3)
    assert best_run(torch.tensor([0.9, 0.2, 0.6, 0.6])) == (2, 3)
    # 0.5 < 0.6 * 0.9 = 0.54 is dropped: only (0, 0) remains
    assert best_run([0.9, 0.5, 0.5]) == (0, 0)
    # a different ratio: 0.5 >= 0.5 * 0.9 -> one run 0..2
    assert best_run([0.9, 0.5, 0.5], ratio=0.5) == (0, 2)


def test_detokenise():
    pieces = [("evi", [1.5, 4.0]), ("evi", [6.0, 8.5]), ("end", None), ("text", " "), ("evi", [1.5, 4.0]),
              ("text", " the cyan circle appears."), ("text", " "), ("evi", [6.0, 8.5]), ("text", " it goes.")]
    raw, text, answer = detokenise(pieces)
    assert raw == "<evi><evi></evi> <evi> the cyan circle appears. <evi> it goes."
    assert text == "1.5 - 4.0; 6.0 - 8.5\n 1.5 - 4.0 the cyan circle appears. 6.0 - 8.5 it goes."
    assert answer == "1.5 - 4.0 the cyan circle appears. 6.0 - 8.5 it goes."


def test_evidence_f1_by_hand():
    # IoU(pred [0,2], gt [0,2]) = 1; IoU([4,6], [5,6]) = 1 / 2 = 0.5; cross pairs 0.
    # t <= 0.5: P = R = 1 -> F1 1; t = 0.7: P = 1/2, R = 1/2 -> F1 0.5; mean (1 + 1 + 1 + 0.5) / 4 = 0.875
    f = sample_evidence_f1([[0, 2], [4, 6]], [[0, 2], [5, 6]])
    assert f == pytest.approx([1.0, 1.0, 1.0, 0.5])
    # with a second sample without evidence (0 everywhere): means halve
    res = evidence_f1([[[0, 2], [4, 6]], []], [[[0, 2], [5, 6]], [[1, 2]]])
    assert res["F1@0.7"] == pytest.approx(0.25) and res["F1@0.1"] == pytest.approx(0.5)
    assert res["F1"] == pytest.approx(0.4375)
    # a duplicate prediction does not hurt precision (TAL rule): both [0,2] match gt [0,2]
    assert sample_evidence_f1([[0, 2], [0, 2]], [[0, 2]]) == pytest.approx([1.0] * 4)
