"""Names and validation: choices in --help, global flags after the command, help that cites only what a user
has, presets by name, and config values checked up front with the same words as the flags."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tempoforge.cli import build_parser, main
from tempoforge.config import ConfigError, load_config
from tempoforge.curate.config import STEP_NAMES, CurateConfig
from tempoforge.models.config import BENCHMARK_NAMES, PredictConfig
from tempoforge.models.prompts import BENCHMARK_TASKS
from tempoforge.presets import for_users, preset_names, resolve_config


def _all_parsers(parser: argparse.ArgumentParser, name: str = "tempoforge") -> dict[str, argparse.ArgumentParser]:
    found = {name: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                found.update(_all_parsers(sub, f"{name} {sub_name}"))
    return found


def test_help_cites_no_file_a_user_does_not_have() -> None:
    parsers = _all_parsers(build_parser())
    assert len(parsers) > 20
    for name, parser in parsers.items():
        text = parser.format_help()
        for bad in (".md", "configs/", "../shared"):
            assert bad not in text, f"`{name} --help` cites {bad!r}"
    # developer docstrings become user help
    assert for_users("TEMPLE (METHODS.md 1.4) and FPO (``synth/x.py``, METHODS.md 3.4) as METHODS 1.3 says.\n"
                     "    tempoforge train temple --config configs/train/temple_tiny.yaml") == (
        "TEMPLE and FPO (``synth/x.py``) as the paper says.\n    tempoforge train temple --config temple_tiny")


def test_flags_with_a_fixed_set_of_values_list_them() -> None:
    parsers = _all_parsers(build_parser())
    expected = {
        "tempoforge predict": ["--timestamps {mrope,text,overlay,frames-as-images}", "--selection {uniform,saa}",
                               "--dtype {auto,float32,bfloat16,float16}", "--benchmark {grounding,charades-sta,"],
        "tempoforge eval score": ["--convention {etchat,lmms-eval-tvg,lmms-eval,strict,mcq,vinoground}"],
        "tempoforge train temple": ["--order {dpo-sft,sft-dpo,dpo-only}", "--schedule {progressive,single}"],
        "tempoforge train d2vlm": ["--stage {sft,fpo,both,eval}"],
        "tempoforge curate": ["--steps {probe,signals,static,shots,clean_shots,shot_count,group,runs_filter,"],
    }
    for name, snippets in expected.items():
        text = " ".join(parsers[name].format_help().split())
        for snippet in snippets:
            assert snippet in text, (name, snippet)
    # the lists agree with what the code accepts
    from tempoforge.curate import steps  # noqa: F401  (registers the built-in steps)
    from tempoforge.curate.registry import STEPS

    assert set(STEP_NAMES) == set(STEPS)
    assert set(BENCHMARK_NAMES) == set(BENCHMARK_TASKS)


def test_global_flags_work_after_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    for argv in (["-q", "video", "probe", "x"], ["video", "probe", "x", "-q"], ["video", "probe", "x", "--quiet"]):
        assert parser.parse_args(argv).quiet is True
    assert parser.parse_args(["video", "probe", "x"]).quiet is False
    assert parser.parse_args(["eval", "score", "--benchmark", "mcq", "--pred", "p", "--debug"]).debug is True
    bad = tmp_path / "bad.mp4"
    bad.write_text("hello")
    assert main(["video", "probe", str(bad)]) == 2  # one line
    with pytest.raises(ValueError, match="not a video"):  # --debug after the command: the full traceback
        main(["video", "probe", str(bad), "--debug"])


def test_presets_by_name_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # nowhere near the repository's configs/
    assert preset_names("curate") == ["temple", "tempura"]
    assert preset_names("train", "temple_") == ["temple_qwen25vl_7b", "temple_tiny"]
    assert load_config(CurateConfig, resolve_config("tempura", "curate")).steps[2] == "static"
    with pytest.raises(SystemExit):
        main(["curate", "--in", "v", "--out", "o", "--config", "temple_tiny"])  # a train preset, not a curate one
    assert ("argument --config: temple_tiny: no such file, and not the name of a preset (presets: temple, "
            "tempura)") in capsys.readouterr().err


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("batch_size: 0\n", "batch_size: must be >= 1, got 0"),
    ("max_frames: 1.5\n", "max_frames: expected an integer, got 1.5"),
    ("fps: [1, 2]\n", "fps: expected a number, got [1, 2]"),
    ("fps: 0\n", "fps: must be > 0, got 0.0"),
    ("duration_in_prompt: 1\n", "duration_in_prompt: expected true or false, got 1"),
    ("timestamps: clock\n", "timestamps: invalid choice: 'clock' (choose from 'mrope', 'text', 'overlay', "
                            "'frames-as-images')"),
])
def test_predict_config_is_checked_before_any_model_is_built(
        yaml_text: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "p.yaml"
    cfg.write_text(yaml_text)
    out = tmp_path / "preds.jsonl"
    # the model folder does not exist: an error about the config proves it came first
    assert main(["predict", "--config", str(cfg), "--model", str(tmp_path / "no-model"), "--data",
                 str(tmp_path / "no-data.jsonl"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == f"tempoforge: error: {cfg}: {message}"
    assert not out.exists()


def test_flags_and_yaml_say_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["predict", "--batch-size", "0", "--model", "m", "--data", "d", "--out", "o"])
    assert "argument --batch-size: must be >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["predict", "--max-frames", "1.5", "--model", "m", "--data", "d", "--out", "o"])
    assert "argument --max-frames: expected an integer, got '1.5'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r"^PredictConfig: batch_size: must be >= 1, got 0$"):
        load_config(PredictConfig, overrides={"batch_size": 0})


def test_nested_training_config_is_checked_before_training(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "t.yaml"
    out = tmp_path / "run"
    cfg.write_text(f"model: tiny:qwen2_5_vl\nout: {out}\ndpo:\n  optim: {{batch_size: 0}}\n")
    assert main(["train", "temple", "--config", str(cfg)]) == 2
    assert capsys.readouterr().err.strip() == f"tempoforge: error: {cfg}: dpo.optim.batch_size: must be >= 1, got 0"
    cfg.write_text(f"out: {out}\ndpo: 3\n")
    assert main(["train", "temple", "--config", str(cfg)]) == 2
    assert "dpo: expected a mapping of DPOSettings options, got 3" in capsys.readouterr().err
    assert not out.exists()
