"""What ``curate --in`` accepts: one video, a folder, a list of paths or a glob -> ``[{"id", "path"}]``.

- a folder: its videos (:data:`VIDEO_SUFFIXES`), searched recursively; id = the path inside the folder;
- a video file (a name ending in one of :data:`VIDEO_SUFFIXES`, or any file that is not text): that video,
  id = its file name;
- a ``.jsonl`` list: a ``path`` (and optional ``id``) per line; any other text file: one path per line
  (blank lines and ``#`` comments skipped); relative paths are relative to the list's folder;
- a glob (``'videos/**/*.mp4'``, quoted so that the shell leaves it alone): every matching file;
  id = the path below the pattern's fixed leading folders.

Ids must be unique. Finding nothing is an error naming what was searched, never an empty run.
"""

from __future__ import annotations

import glob
from collections import Counter
from pathlib import Path

from tempoforge.errors import UserError
from tempoforge.io.jsonl import read_jsonl

__all__ = ["VIDEO_SUFFIXES", "list_inputs"]

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv")
_MAGIC = ("*", "?", "[")


def _folder(src: Path) -> list[dict[str, str]]:
    items = [{"id": p.relative_to(src).as_posix(), "path": str(p.resolve())}
             for p in sorted(x for x in src.rglob("*") if x.is_file() and x.suffix.lower() in VIDEO_SUFFIXES)]
    if not items:
        raise UserError(f"--in {src}: no videos in this folder (searched it recursively for "
                        f"{', '.join(VIDEO_SUFFIXES)})")
    return items


def _jsonl_list(src: Path) -> list[dict[str, str]]:
    items = []
    for lineno, obj in enumerate(read_jsonl(src), 1):
        if not isinstance(obj, dict) or not isinstance(obj.get("path"), str):
            raise UserError(f"{src}:{lineno}: missing string field 'path'")
        p = (src.parent / obj["path"]).resolve()
        items.append({"id": str(obj.get("id") or obj["path"]), "path": str(p)})
    return items


def _text(src: Path) -> str | None:
    """The file's text when it is a UTF-8 text file (no NUL bytes), else ``None``."""
    data = src.read_bytes()
    if b"\x00" in data[:4096]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _file(src: Path) -> list[dict[str, str]]:
    if src.suffix.lower() in VIDEO_SUFFIXES:
        return [{"id": src.name, "path": str(src.resolve())}]
    if src.suffix.lower() == ".jsonl":
        items = _jsonl_list(src)
    else:
        text = _text(src)
        if text is None:  # not text: a video with an unusual name (probe will say if it is not one)
            return [{"id": src.name, "path": str(src.resolve())}]
        items = [{"id": line.strip(), "path": str((src.parent / line.strip()).resolve())}
                 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not items:
        raise UserError(f"--in {src}: the list of videos is empty")
    return items


def _glob(pattern: str) -> list[dict[str, str]]:
    parts = Path(pattern).parts
    fixed = next(i for i, part in enumerate(parts) if any(m in part for m in _MAGIC))
    base = Path(*parts[:fixed]) if fixed else Path(".")
    files = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
    if not files:
        raise UserError(f"--in {pattern}: no file matches this pattern")
    return [{"id": p.relative_to(base).as_posix(), "path": str(p.resolve())} for p in files]


def list_inputs(source: str | Path) -> list[dict[str, str]]:
    """``[{"id", "path"}]`` for a folder, a video, a list file or a glob (see the module docstring)."""
    src = Path(source)
    if src.is_dir():
        items = _folder(src)
    elif src.is_file():
        items = _file(src)
    elif any(m in str(source) for m in _MAGIC):
        items = _glob(str(source))
    else:
        raise UserError(f"--in {src}: no such file or folder (give a video, a folder of videos, a list of paths "
                        "or a quoted glob such as 'videos/*.mp4')")
    seen: Counter[str] = Counter(x["id"] for x in items)
    dups = sorted(k for k, n in seen.items() if n > 1)
    if dups:
        raise UserError(f"{src}: duplicate video ids {dups[:5]}")
    return items
