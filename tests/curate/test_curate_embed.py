"""Shot embeddings from a local image encoder (a tiny random SigLIP saved to disk; no download)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tempoforge.curate.config import CurateConfig
from tempoforge.curate.pipeline import process_video


@pytest.mark.integration
def test_group_step_with_local_siglip(video_factory: Callable[..., tuple[Path, list[float]]], tmp_path: Path) -> None:
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    from tempoforge.curate.embed import encode_images

    model_dir = tmp_path / "siglip"
    tiny = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2)
    SiglipModel(SiglipConfig(vision_config={**tiny, "image_size": 32, "patch_size": 8},
                             text_config={**tiny, "vocab_size": 100})).save_pretrained(model_dir)
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(model_dir)

    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(3, 64, 96, 3), dtype=np.uint8)
    imgs[2] = imgs[0]
    emb = encode_images(str(model_dir), imgs)
    assert emb.shape[0] == 3 and np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert float(emb[0] @ emb[2]) == pytest.approx(1.0, abs=1e-5)

    # static shots: the middle frames of the two red shots are identical -> same group whatever the weights
    path, _ = video_factory("v.mp4", [("red", 24), ("blue", 24), ("red", 24), ("green", 24)],
                            static=[True, True, True, True])
    cfg = CurateConfig(steps=["probe", "signals", "shots", "group"], embed_model=str(model_dir))
    rec = process_video({"id": "v", "path": str(path)}, cfg, tmp_path / "out")["record"]
    groups = [s["group"] for s in rec["shots"]]
    assert len(groups) == 4 and groups[0] == groups[2]
