"""What ``curate --in`` accepts, what it says when nothing is kept, and truncated videos: through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tempoforge.cli import main
from tempoforge.curate.inputs import list_inputs
from tempoforge.errors import UserError

Factory = Callable[..., tuple[Path, list[float]]]


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def videos(video_factory: Factory, tmp_path: Path) -> Path:
    video_factory("a.mp4", [("red", 10)])
    video_factory("sub/b.mkv", [("blue", 10)])
    return tmp_path / "videos"


def test_one_video_file_is_accepted(videos: Path, tmp_path: Path) -> None:
    # before: the video was read as a list of paths and failed with a UTF-8 decode error
    out = tmp_path / "out"
    assert main(["-q", "curate", "--in", str(videos / "a.mp4"), "--out", str(out), "--steps", "probe"]) == 0
    assert [r["id"] for r in _rows(out / "kept.jsonl")] == ["a.mp4"]
    assert (out / "rejected.jsonl").read_text() == ""  # always written, here empty


def test_folder_list_and_glob(videos: Path, tmp_path: Path) -> None:
    a, b = str((videos / "a.mp4").resolve()), str((videos / "sub" / "b.mkv").resolve())
    assert list_inputs(videos) == [{"id": "a.mp4", "path": a}, {"id": "sub/b.mkv", "path": b}]
    listing = tmp_path / "videos.txt"
    listing.write_text("# my clips\nvideos/a.mp4\n\nvideos/sub/b.mkv\n")
    assert list_inputs(listing) == [{"id": "videos/a.mp4", "path": a}, {"id": "videos/sub/b.mkv", "path": b}]
    assert list_inputs(f"{videos}/**/*.mkv") == [{"id": "sub/b.mkv", "path": b}]
    assert list_inputs(f"{videos}/*.mp4") == [{"id": "a.mp4", "path": a}]
    odd = videos / "clip.video"  # a binary file with an unknown suffix is one video, not a list
    odd.write_bytes((videos / "a.mp4").read_bytes())
    assert list_inputs(odd) == [{"id": "clip.video", "path": str(odd.resolve())}]


def test_finding_nothing_is_an_error_naming_what_was_searched(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    assert main(["-q", "curate", "--in", str(empty), "--out", str(out)]) == 2
    assert f"--in {empty}: no videos in this folder (searched it recursively for .mp4" in capsys.readouterr().err
    assert not out.exists()  # nothing written
    with pytest.raises(UserError, match="no file matches this pattern"):
        list_inputs(f"{empty}/*.mp4")
    blank = tmp_path / "list.txt"
    blank.write_text("# nothing yet\n")
    with pytest.raises(UserError, match="the list of videos is empty"):
        list_inputs(blank)


def test_nothing_kept_writes_empty_kept_jsonl_and_says_which_step(video_factory: Factory, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    video_factory("one.mp4", [("cyan", 30)])
    video_factory("two.mp4", [("red", 30)])
    (tmp_path / "videos" / "bad.mp4").write_bytes(b"not a video")
    before = _snapshot(tmp_path / "videos")
    out = tmp_path / "out"
    assert main(["-q", "curate", "--in", str(tmp_path / "videos"), "--out", str(out), "--detector", "adaptive",
                 "--steps", "probe", "signals", "shots", "shot_count"]) == 0
    assert (out / "kept.jsonl").read_text() == ""
    assert len(_rows(out / "rejected.jsonl")) == 3
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"curate: 3 videos (0 already done): kept 0, rejected 3 -> {out}"
    # one shot each: shot_count removed 2; probe removed the unreadable one
    assert err[1] == (
        "curate: nothing was kept: every video was removed: 2 by step 'shot_count', 1 by step 'probe' (e.g. it has "
        f"1 shot after cleaning, but 4 to 32 are needed (min_shots, max_shots)); each video's reason is in "
        f"{out / 'rejected.jsonl'}")
    bad = next(r for r in _rows(out / "rejected.jsonl") if r["id"] == "bad.mp4")
    assert bad["reason"] == "the video cannot be used: not a video (unrecognised or corrupt data)"
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rejected_by_step"] == {"probe": 1, "shot_count": 2}
    assert _snapshot(tmp_path / "videos") == before  # inputs untouched


def test_truncated_video_is_kept_with_a_warning_and_a_summary_line(video_factory: Factory, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    full, _ = video_factory("full.mkv", [("red", 50), ("blue", 50)])  # 4 s at 25 fps
    cut = tmp_path / "cut" / "cut.mkv"
    cut.parent.mkdir()
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.55)])
    # video probe: the short duration comes with the flag, the header's duration and a warning line
    assert main(["video", "probe", str(cut)]) == 0
    captured = capsys.readouterr()
    info = json.loads(captured.out)
    assert info["truncated"] is True and info["declared_duration"] == 4.0 and info["duration"] < 4.0
    assert f"warning: {cut}: file is truncated: only the first {info['duration']:.3f} s of 4.000 s can be decoded" \
        in captured.err
    # curation keeps it (its decodable part is usable) with the warning on the record and in the summary
    out = tmp_path / "out"
    assert main(["-q", "curate", "--in", str(cut.parent), "--out", str(out), "--steps", "probe"]) == 0
    (rec,) = _rows(out / "kept.jsonl")
    warning = f"file is truncated: only the first {info['duration']:.3f} s of 4.000 s can be decoded"
    assert rec["warnings"] == [warning] and rec["info"]["truncated"] is True
    assert (f"curate: 1 kept video has warnings (e.g. {warning}); see the 'warnings' field in "
            f"{out / 'kept.jsonl'}") in capsys.readouterr().err.splitlines()
    assert json.loads((out / "stats.json").read_text())["kept_with_warnings"] == 1
