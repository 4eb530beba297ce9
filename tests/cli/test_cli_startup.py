"""The command line starts without the heavy libraries: no ``--help``, no ``--version`` and no ``eval score``
imports torch or transformers, and ``tempoforge --help`` imports none of numpy, pydantic, PyAV or yaml.

Each check runs in a fresh interpreter (the test process has torch loaded already). Timings are not asserted
here (machines differ); the figures are in the issue that made the CLI lazy.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tempoforge.cli import build_parser
from tempoforge.cli_parts import (
    LazyParser,
    MethodCommand,
    add_command,
    add_method_subcommands,
    build_all,
    protocol_members,
)
from tempoforge.train.commands import RECIPES
from tempoforge.train.recipes import Recipe

SRC = Path(__file__).resolve().parents[2] / "src"
HEAVY = ("torch", "transformers")


def _run(code: str, cwd: Path) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += _command_paths(sub, (*path, name))
    return found


def test_every_help_and_version_without_torch(tmp_path: Path) -> None:
    commands = _command_paths(build_parser())
    assert ("train", "temple") in commands and ("synth", "tempura") in commands and ("study",) in commands
    code = f"""
import contextlib, io, json, sys
from tempoforge.cli import main
culprits = {{}}
for argv in {[[*c, "--help"] for c in commands] + [["--version"]]!r}:
    with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):
        main(argv)
    assert "usage: tempoforge" in out.getvalue() or argv == ["--version"], argv
    for m in {HEAVY!r}:
        if m in sys.modules and m not in culprits:
            culprits[m] = " ".join(argv)
print(json.dumps(culprits))
"""
    assert _run(code, tmp_path) == {}, "these --help imported a heavy library (module: first command)"


def test_building_the_full_parser_imports_no_torch(tmp_path: Path) -> None:
    code = f"""
import json, sys
from tempoforge.cli import build_parser
from tempoforge.cli_parts import subparsers_of
parser = build_parser()
assert len(subparsers_of(parser)) > 10
print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
"""
    assert _run(code, tmp_path) == []


def test_top_level_help_imports_nothing_heavy(tmp_path: Path) -> None:
    code = """
import contextlib, io, json, sys
from tempoforge.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):
    main(["--help"])
assert "train" in out.getvalue() and "eval" in out.getvalue()
print(json.dumps([m for m in ("torch", "transformers", "numpy", "pydantic", "av", "yaml") if m in sys.modules]))
"""
    assert _run(code, tmp_path) == []


def test_eval_score_of_a_jsonl_imports_no_torch(tmp_path: Path) -> None:
    # GT [0, 10]; "0 - 10" -> IoU 1, "0 - 5" -> IoU 0.5: R@0.3 = R@0.5 = 1, R@0.7 = 1/2, mIoU = 0.75
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"id": "q1", "duration": 30.0, "gt": [0, 10], "answer": "0 - 10"}) + "\n"
                     + json.dumps({"id": "q2", "duration": 30.0, "gt": [0, 10], "answer": "0 - 5"}) + "\n")
    mcq = tmp_path / "mcq.jsonl"
    mcq.write_text(json.dumps({"id": "m1", "answer": "B", "gt": "B", "options": ["x", "y"]}) + "\n")
    code = f"""
import contextlib, io, json, sys
from tempoforge.cli import main
codes = []
with contextlib.redirect_stdout(io.StringIO()):
    codes.append(main(["eval", "score", "--benchmark", "charades-sta", "--pred", {str(preds)!r}, "--out", "m.json"]))
    codes.append(main(["eval", "score", "--benchmark", "mcq", "--pred", {str(mcq)!r}]))
print(json.dumps({{"codes": codes, "heavy": [m for m in {HEAVY!r} if m in sys.modules],
                  "metrics": json.load(open("m.json"))}}))
"""
    got = _run(code, tmp_path)
    assert got["codes"] == [0, 0] and got["heavy"] == []
    metrics = got["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["mIoU"] == pytest.approx(0.75, abs=1e-3) and metrics["R@0.7"] == pytest.approx(0.5)


def test_lazy_parser_builds_only_what_is_used() -> None:
    built: list[str] = []
    parser = LazyParser(prog="x")
    sub = parser.add_subparsers(dest="command")

    def flags(name: str) -> Callable[[argparse.ArgumentParser], None]:
        def build(p: argparse.ArgumentParser) -> None:
            built.append(name)
            p.add_argument("--value", type=int, default=0)

        return build

    add_command(sub, "a", flags("a"), help="command a")
    add_command(sub, "b", flags("b"), help="command b")
    assert built == []
    assert "command a" in parser.format_help() and built == []  # the list of commands needs no flags
    assert parser.parse_args(["a", "--value", "3"]).value == 3 and built == ["a"]
    with pytest.raises(SystemExit):
        parser.parse_args(["b", "--nope"])  # b's flags exist by the time it parses
    assert built == ["a", "b"]
    build_all(parser)
    assert built == ["a", "b"]  # each build step runs once

    plain = argparse.ArgumentParser()  # not lazy: the flags are added at once
    add_command(plain.add_subparsers(), "c", flags("c"))
    assert built[-1] == "c"


def test_every_recipe_is_a_recipe_and_a_module_missing_a_member_is_not(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    assert set(protocol_members(Recipe)) == {"DESCRIPTION", "HELP", "add_arguments", "main"}
    for name, module_name in RECIPES.items():
        module = importlib.import_module(module_name)
        assert isinstance(module, Recipe), name
        assert module.HELP and "\n" not in module.HELP
    # a recipe module without main is refused, with a message that names what it lacks
    (tmp_path / "broken_recipe.py").write_text('HELP = "one line"\nDESCRIPTION = "text"\n'
                                               "def add_arguments(parser):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = importlib.import_module("broken_recipe")
    assert not isinstance(broken, Recipe) and not isinstance(broken, MethodCommand)
    with pytest.raises(TypeError, match=r"^broken_recipe is not a Recipe: it lacks main$"):
        add_method_subcommands(argparse.ArgumentParser(), "method", {"broken": "broken_recipe"}, contract=Recipe)
    monkeypatch.delitem(sys.modules, "broken_recipe")


def test_recipe_ending_runs_the_config_and_prints_the_summary(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from dataclasses import dataclass, field

    from tempoforge.train.recipes import recipe_ending

    @dataclass
    class ToyConfig:
        steps: int = field(default=1, metadata={"min": 1, "help": "steps"})
        name: str = field(default="a", metadata={"help": "name"})

    seen: list[ToyConfig] = []

    def run(cfg: ToyConfig, args: argparse.Namespace) -> dict[str, object]:
        seen.append(cfg)
        return {"final": f"{cfg.name}-{cfg.steps}", "curves": [1, 2]}

    ending = recipe_ending(ToyConfig, "toy_", run, summary=("final",))
    parser = argparse.ArgumentParser()
    ending.add_arguments(parser)
    yaml_file = tmp_path / "toy.yaml"
    yaml_file.write_text("steps: 4\nname: yaml\n")
    # defaults < YAML < flags
    assert ending.main(parser.parse_args(["--config", str(yaml_file), "--name", "flag"])) == 0
    assert seen[-1] == ToyConfig(steps=4, name="flag")
    assert json.loads(capsys.readouterr().out) == {"final": "flag-4"}
    help_text = parser.format_help()
    assert "--steps" in help_text and "ToyConfig fields" in help_text


def test_lazy_packages_export_their_names(tmp_path: Path) -> None:
    # in a fresh interpreter: importing a command module loads no exports; a submodule named like the function
    # it exports (tempoforge.io.probe) does not replace the function once some other module imports it
    code = """
import json, sys
import tempoforge.io.commands, tempoforge.synth.commands
cheap = [m for m in ("av", "numpy", "pydantic") if m in sys.modules]
import tempoforge.io.dense  # imports the submodules tempoforge.io.probe and tempoforge.io.sample
import tempoforge.synth.temple  # imports the submodule tempoforge.synth.perturb
from tempoforge.io import probe, sample
from tempoforge.synth import perturb
print(json.dumps({"cheap": cheap, "kinds": [type(f).__name__ for f in (probe, sample, perturb)]}))
"""
    assert _run(code, tmp_path) == {"cheap": [], "kinds": ["function", "function", "function"]}
    import importlib

    for package in ("tempoforge.io", "tempoforge.world", "tempoforge.curate", "tempoforge.synth"):
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            defined_in = getattr(value, "__module__", None)
            if defined_in is not None and defined_in.startswith(package):  # a function or class: its own module's
                assert getattr(importlib.import_module(defined_in), name, value) is value, (package, name)
        with pytest.raises(AttributeError):
            _ = module.no_such_name
