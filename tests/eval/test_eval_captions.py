"""Dense-captioning caption scores (densevid_eval pairing + pycocoevalcap), Java-missing path included."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tempoforge.eval.metrics.captions import (
    caption_scores,
    densevid_caption_pairs,
    garbage_sentence,
    java_available,
    ptb_tokenize,
    simple_ptb_tokenize,
)


def test_pairing_is_inclusive_and_unmatched_get_seeded_garbage() -> None:
    refs = [{"v": [((0.0, 10.0), "a man runs"), ((20.0, 30.0), "a dog sits")]}]
    preds = {"v": [((40.0, 50.0), "far away")]}
    # t = 0: tIoU 0 >= 0 -> paired with EVERY GT sentence (inclusive), no garbage
    pairs = densevid_caption_pairs(preds, refs, 0.0, random.Random(0), ["v"])
    assert pairs["v"] == [("far away", "a man runs"), ("far away", "a dog sits")]
    # t = 0.5: no GT reaches it -> one garbage reference of 10-20 lower-case letters, reproducible by seed
    p1 = densevid_caption_pairs(preds, refs, 0.5, random.Random(7), ["v"])["v"]
    p2 = densevid_caption_pairs(preds, refs, 0.5, random.Random(7), ["v"])["v"]
    assert p1 == p2 and len(p1) == 1 and p1[0][0] == "far away"
    junk = p1[0][1]
    assert 10 <= len(junk) <= 20 and junk.isalpha() and junk.islower()
    lengths = {len(garbage_sentence(random.Random(s))) for s in range(200)}
    assert min(lengths) == 10 and max(lengths) == 20


def test_several_references_pair_with_each_matching_sentence() -> None:
    refs = [{"v": [((0.0, 10.0), "first ref")]}, {"v": [((0.0, 10.0), "second ref")]}]
    pairs = densevid_caption_pairs({"v": [((0.0, 10.0), "pred")]}, refs, 0.5, random.Random(0), ["v", "w"])
    assert pairs == {"v": [("pred", "first ref"), ("pred", "second ref")], "w": []}


def test_bleu_hand_case_and_empty_video_scores_zero_without_java() -> None:
    # hyp "a b c d" vs ref "a b x y": unigram precision 2/4, bigram 1/3, equal lengths (BP 1)
    # Bleu_1 = .5 ; Bleu_2 = sqrt(.5 * 1/3) = .408248 ; video "w" has no pair -> 0 ; mean over 2 videos
    out = caption_scores({"v": [("a b c d", "a b x y")], "w": []}, use_java=False)
    assert out["Bleu_1"] == pytest.approx(0.5 / 2, abs=1e-6)
    assert out["Bleu_2"] == pytest.approx((0.5 / 3) ** 0.5 / 2, abs=1e-6)
    # ROUGE_L: LCS 2, P = R = 1/2 -> F_beta(1.2) = .5 -> mean .25
    assert out["ROUGE_L"] == pytest.approx(0.25)
    assert out["METEOR"] is None and out["tokenizer"] == "simple"


def test_simple_tokenizer_matches_ptb_conventions() -> None:
    assert simple_ptb_tokenize("  A man is playing the guitar.") == "a man is playing the guitar"
    assert simple_ptb_tokenize("He doesn't stop, it's great!") == "he does n't stop it 's great"
    assert (
        simple_ptb_tokenize("cut (the) onion--fine; 2.5 cups...") == "cut -lrb- the -rrb- onion fine 2.5 cups"
    )


def _no_java_env(tmp_path: Path) -> dict[str, str]:
    """PATH with only the Python interpreter's folder, and no java in it."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python").symlink_to(sys.executable)
    env = dict(os.environ)
    env["PATH"] = str(bindir)
    return env


def test_java_missing_reports_meteor_unavailable(tmp_path: Path) -> None:
    code = (
        "import json; from tempoforge.eval.metrics.captions import caption_scores, java_available;"
        "print(json.dumps([java_available(), caption_scores({'v': [('a man runs', 'a man runs')]})]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=_no_java_env(tmp_path), capture_output=True, text=True, check=True
    )
    available, out = json.loads(proc.stdout)
    assert available is False
    assert out["METEOR"] is None  # unavailable, never 0
    assert out["tokenizer"] == "simple"
    assert out["Bleu_1"] == pytest.approx(1.0, abs=1e-6) and out["ROUGE_L"] == pytest.approx(1.0)


@pytest.mark.integration
@pytest.mark.skipif(not java_available(), reason="needs java for METEOR / PTB")
def test_java_ptb_and_meteor() -> None:
    sents = ["  A man is playing the guitar.", "He doesn't stop, it's great!", "x"]
    assert ptb_tokenize(sents, use_java=True) == [simple_ptb_tokenize(s) for s in sents]
    out = caption_scores(
        {
            "v": [("a man is playing a guitar", "a man is playing a guitar")],
            "w": [("a cat", "the stock market crashed")],
        }
    )
    assert out["tokenizer"] == "ptb"
    assert out["METEOR"] is not None and 0.4 < out["METEOR"] <= 0.5  # ~1 for v, ~0 for w, mean over 2
