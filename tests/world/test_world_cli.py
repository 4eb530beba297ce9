"""``tempoforge world generate`` / ``world show`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tempoforge.cli import build_parser, main


def test_generate_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w"
    rc = main(["-q", "world", "generate", "--out", str(out), "--videos", "3", "--seed", "4", "--size", "84x84",
               "--fps", "2", "--workers", "1"])
    assert rc == 0
    assert "3 videos (84x84, 2 fps, preset tiny)" in capsys.readouterr().out
    data = json.loads((out / "world.json").read_text())
    assert data["config"]["width"] == 84 and data["config"]["fps"] == 2.0 and len(data["videos"]) == 3
    assert sorted(p.name for p in (out / "videos").iterdir()) == ["tw00000.mp4", "tw00001.mp4", "tw00002.mp4"]

    png = tmp_path / "show.png"
    assert main(["world", "show", "tw00001", "--world", str(out), "--out", str(png), "--frames", "4"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    png2 = tmp_path / "show2.png"
    assert main(["world", "show", str(out / "videos" / "tw00002.mp4"), "--out", str(png2)]) == 0
    assert png2.is_file()


def test_user_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["world", "show", "tw00009", "--world", str(tmp_path), "--out", str(tmp_path / "x.png")]) == 2
    assert "no world.json" in capsys.readouterr().err
    assert main(["world", "generate", "--out", str(tmp_path), "--videos", "2", "--size", "57x56"]) == 2
    assert "width and height must be even" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["world", "generate", "--out", str(tmp_path), "--videos", "2", "--size", "big"])


def test_help_explains_every_flag() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["world"]
    wsub = next(a for a in sub._actions if a.dest == "world_command").choices
    for name in ("generate", "show"):
        p = wsub[name]
        assert p.description
        for action in p._actions:
            if action.dest != "help":
                assert action.help, f"world {name} {action.option_strings} has no help"
