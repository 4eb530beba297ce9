"""The timestamp-strategy registry: names, help and behaviour come from the registered strategies alone.

A strategy added as a file (here a toy package written at test time, as a new file in
``tempoforge/timestamps/`` would be) reaches validation, model inputs, the planner and ``--help`` with no
other change.
"""

from __future__ import annotations

import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from tempoforge.errors import UserError
from tempoforge.models.inputs import build_example, collate
from tempoforge.models.positions import IMAGE
from tempoforge.records import Frames, Prediction
from tempoforge.timestamps import (
    REGISTRY,
    STRATEGIES,
    TimestampStrategy,
    check_strategy,
    register_package,
    strategy_help,
    strategy_names,
)

TOY_FILES = {
    # images with a marker before each: a layout + marker combination no built-in uses
    "bracket_markers.py": '''
        from tempoforge.timestamps.registry import TimestampStrategy

        STRATEGY = TimestampStrategy(name="bracket-markers", layout="images", marker=lambda t: f"[{t:.2f}s]",
                                     help="every frame its own image after a [t s] marker (a test strategy)")
    ''',
    # frame pairs without markers but with the time burned in
    "burned_patches.py": '''
        from tempoforge.timestamps.registry import TimestampStrategy

        STRATEGY = TimestampStrategy(name="burned-patches", layout="patches", burn_in=True,
                                     help="time burned into the frames, one block per frame pair (a test strategy)")
    ''',
}


@pytest.fixture
def toy_strategies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[TimestampStrategy]]:
    """The toy strategy files, registered as the package registers its own files; unregistered afterwards."""
    package = tmp_path / "toy_timestamps"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, text in TOY_FILES.items():
        (package / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    added = register_package("toy_timestamps")
    yield added
    for s in added:
        del REGISTRY[s.name]
    for name in [m for m in sys.modules if m.startswith("toy_timestamps")]:
        del sys.modules[name]


def frames(n: int = 5, side: int = 56) -> Frames:
    data = np.random.default_rng(3).integers(0, 256, (n, side, side, 3), dtype=np.uint8)
    return Frames(data, [0.0, 0.75, 1.5, 3.0, 4.25][:n])


def test_the_built_ins_are_the_files_of_the_package() -> None:
    package = Path(sys.modules["tempoforge.timestamps"].__file__ or "").parent
    files = {p.stem for p in package.glob("*.py")} - {"__init__", "registry"}
    assert {n.replace("-", "_") for n in STRATEGIES} == files
    assert STRATEGIES == strategy_names() == tuple(sorted(REGISTRY, key=lambda n: REGISTRY[n].order))


def test_choices_and_help_everywhere_come_from_the_registry() -> None:
    import dataclasses

    from tempoforge.cli import build_parser
    from tempoforge.models.config import PredictConfig
    from tempoforge.models.video import VideoSettings
    from tempoforge.train.recipes.tempo_r0 import TempoR0Config

    text = strategy_help()
    for name in STRATEGIES:
        assert f"{name} = {REGISTRY[name].help}" in text
    for cls in (PredictConfig, VideoSettings, TempoR0Config):
        meta = {f.name: f.metadata for f in dataclasses.fields(cls)}["timestamps"]
        assert tuple(meta["choices"]) == STRATEGIES, cls
    assert {f.name: f.metadata for f in dataclasses.fields(PredictConfig)}["timestamps"]["help"] == text
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices  # type: ignore[union-attr]
    for command in ("predict", "doctor"):
        flag = next(a for a in sub[command]._actions if "--timestamps" in a.option_strings)
        assert tuple(flag.choices) == STRATEGIES, command


def test_a_bad_strategy_declaration_is_refused() -> None:
    with pytest.raises(ValueError, match="lower-case words"):
        TimestampStrategy(name="Bad_Name", help="x", layout="images")
    with pytest.raises(ValueError, match="unknown layout 'grid'"):
        TimestampStrategy(name="x", help="x", layout="grid")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="takes no marker"):
        TimestampStrategy(name="x", help="x", layout="video", marker=str)
    with pytest.raises(ValueError, match="registered twice"):
        from tempoforge.timestamps import register

        register(REGISTRY["text"])


def test_a_strategy_file_reaches_validation_help_and_the_planner(toy_strategies: list[TimestampStrategy]) -> None:
    from tempoforge.models.tensorize import VisionSpec
    from tempoforge.plan.shapes import video_tokens

    assert [s.name for s in toy_strategies] == ["bracket-markers", "burned-patches"]
    assert strategy_names() == (*STRATEGIES, "bracket-markers", "burned-patches")  # after the built-ins
    assert check_strategy("bracket-markers") == "bracket-markers"
    assert "bracket-markers = every frame its own image after a [t s] marker" in strategy_help()
    assert Prediction(id="a", timestamps="burned-patches").timestamps == "burned-patches"
    with pytest.raises(ValidationError, match=r"unknown timestamp strategy 'brackets'.*bracket-markers"):
        Prediction(id="a", timestamps="brackets")
    spec = VisionSpec()
    plain = video_tokens(spec, 8, "frames-as-images", source=(448, 448))
    marked = video_tokens(spec, 8, "bracket-markers", source=(448, 448), marker_tokens=5)
    assert marked.lm_tokens == plain.lm_tokens + 8 * 5 and marked.vision_rows == plain.vision_rows
    text, burned = (video_tokens(spec, 8, n, source=(448, 448), marker_tokens=5) for n in ("text", "burned-patches"))
    assert burned.lm_tokens == text.lm_tokens - 4 * 5  # 4 frame pairs, no marker before them


def test_a_strategy_file_reaches_the_model_inputs(tiny_models: dict, toy_strategies: list[TimestampStrategy]) -> None:
    fr = frames()
    for family, lm in tiny_models.items():
        ex = build_example(lm, "When?", fr, "bracket-markers", answer="At 1.5 s.")
        base = build_example(lm, "When?", fr, "frames-as-images", answer="At 1.5 s.")
        text = lm.tokenizer.decode(ex.input_ids.tolist())
        # one image block per frame, each right after the marker of its own time
        shown = re.findall(r"\[(\d+\.\d\d)s\]<\|vision_start\|>(?:<\|image_pad\|>)+<\|vision_end\|>", text)
        assert [float(t) for t in shown] == fr.times.tolist(), family
        assert ex.strategy == "bracket-markers" and [s.modality for s in ex.segments] == [IMAGE] * len(fr)
        assert [s.times for s in ex.segments] == [s.times for s in base.segments]
        assert (ex.pixel_values == base.pixel_values).all()  # markers only: the pixels are untouched
        assert int((ex.mm_token_type_ids != 0).sum()) == int((base.mm_token_type_ids != 0).sum())
        assert len(ex.input_ids) > len(base.input_ids)  # the marker text
        out = lm.model(**collate([ex], pad_token_id=lm.token_ids["pad"], padding_side="right"))  # a model takes it
        assert out.logits.shape[1] == len(ex.input_ids) and bool(out.loss.isfinite())

        burned = build_example(lm, "When?", fr, "burned-patches")
        text_ex = build_example(lm, "When?", fr, "text")
        assert "seconds>" not in lm.tokenizer.decode(burned.input_ids.tolist())  # no markers
        assert [s.grid for s in burned.segments] == [s.grid for s in text_ex.segments]  # text's layout
        assert burned.pixel_values_videos is not None and text_ex.pixel_values_videos is not None
        assert not (burned.pixel_values_videos == text_ex.pixel_values_videos).all()  # the burned-in times


def test_unknown_strategy_names_the_registered_ones(toy_strategies: list[TimestampStrategy]) -> None:
    with pytest.raises(UserError, match="mrope, text, overlay, frames-as-images, bracket-markers, burned-patches"):
        check_strategy("absolute")
