"""The torchvision-free stock processor shim agrees with build_example on tokens and pixels."""

from __future__ import annotations

import numpy as np
import torch
import transformers
from packaging.version import Version

from tempoforge.models.inputs import build_example
from tempoforge.models.processor import make_processor, video_metadata
from tempoforge.records import Frames

# transformers < 5.25's Qwen3VLProcessor wraps the whole video in one more <|vision_start|>...<|vision_end|>
OUTER_VISION_PAIR = Version(transformers.__version__) < Version("5.25")


def test_processor_matches_build_example(tiny_models: dict) -> None:
    frames = Frames(np.random.default_rng(0).integers(0, 256, (8, 56, 56, 3), dtype=np.uint8), np.arange(8) / 2.0)
    meta = video_metadata(frames)
    assert meta.fps == 2.0 and meta.frames_indices == list(range(8))
    msgs = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "When?"}]}]
    for name, lm in tiny_models.items():
        proc = make_processor(lm)
        assert type(proc).__name__.endswith("Processor")
        text = proc.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        out = proc(text=[text], videos=[frames.data], video_metadata=[meta], return_tensors="pt")
        ex = build_example(lm, "When?", frames, "mrope")
        assert torch.equal(out["pixel_values_videos"], ex.pixel_values_videos)
        assert torch.equal(out["video_grid_thw"], ex.video_grid_thw)
        if name == "qwen3_vl":
            assert "<0.2 seconds>" in lm.tokenizer.decode(out["input_ids"][0])  # (0 + 0.5) / 2 = 0.25 -> 0.2
        if name == "qwen3_vl" and OUTER_VISION_PAIR:
            # transformers < 5.25 keeps the template's outer vision_start/end around the per-patch blocks
            assert out["input_ids"].shape[1] == ex.input_ids.shape[0] + 2
        else:
            assert torch.equal(out["input_ids"][0], ex.input_ids)
        if name == "qwen2_5_vl":
            assert out["second_per_grid_ts"].tolist() == [1.0]  # temporal patch 2 / 2 fps
        with torch.no_grad():
            assert torch.isfinite(lm.model(**out).logits).all()
