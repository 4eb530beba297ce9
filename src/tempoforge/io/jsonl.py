"""JSON Lines reading and writing that never loses data.

- ``read_jsonl`` reports ``file:line`` and the offending field on a bad line.
- ``write_jsonl`` is atomic: it writes a temporary file in the same folder, fsyncs it and renames it over
  the target, so a reader sees the old file or the new one, never half of one.
- ``append_jsonl`` is crash-safe: each record is one ``write`` of a complete line followed by ``fsync``;
  a line left without its newline by a killed writer is cut off before the next append and skipped (with
  a warning) by ``read_jsonl``, so it never breaks the next read.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ValidationError

__all__ = [
    "JsonlError",
    "append_jsonl",
    "atomic_write_bytes",
    "atomic_write_text",
    "read_jsonl",
    "repair_jsonl_tail",
    "write_jsonl",
]

R = TypeVar("R", bound=BaseModel)


class JsonlError(ValueError):
    """A bad line in a JSONL file; the message starts with ``path:line``."""


def _format_validation_error(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(record)"
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"field '{loc}': {msg}")
    return "; ".join(parts)


@overload
def read_jsonl(path: str | os.PathLike[str], record: type[R]) -> Iterator[R]: ...
@overload
def read_jsonl(path: str | os.PathLike[str], record: None = None) -> Iterator[dict[str, Any]]: ...
def read_jsonl(path: str | os.PathLike[str], record: type[R] | None = None) -> Iterator[Any]:
    """Yield each line of ``path`` as a dict, or validated as ``record``.

    Blank lines are skipped. A final line without a trailing newline that does not parse is treated as the
    remains of a killed writer: skipped with a warning. Any other bad line raises ``JsonlError`` with
    ``path:line`` and the field.
    """
    p = Path(path)
    with p.open("rb") as fh:
        data = fh.read()
    lines = data.split(b"\n")
    last = len(lines) - 1
    for i, raw in enumerate(lines):
        lineno = i + 1
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            if i == last:  # no trailing newline: an interrupted append
                warnings.warn(f"{p}:{lineno}: skipping an incomplete last line (interrupted write)", stacklevel=2)
                return
            raise JsonlError(f"{p}:{lineno}: not valid JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise JsonlError(f"{p}:{lineno}: expected a JSON object, got {type(obj).__name__}")
        if record is None:
            yield obj
            continue
        try:
            yield record.model_validate(obj)
        except ValidationError as exc:
            raise JsonlError(f"{p}:{lineno}: {_format_validation_error(exc)}") from None


def _to_line(item: BaseModel | dict[str, Any]) -> bytes:
    obj = item.model_dump(mode="json", exclude_none=True) if isinstance(item, BaseModel) else item
    return (json.dumps(obj, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """``atomic_write_bytes`` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_jsonl(path: str | os.PathLike[str], items: Iterable[BaseModel | dict[str, Any]]) -> int:
    """Atomically replace ``path`` with one JSON line per item; returns the number of lines."""
    lines = [_to_line(x) for x in items]
    atomic_write_bytes(path, b"".join(lines))
    return len(lines)


def repair_jsonl_tail(path: str | os.PathLike[str]) -> bool:
    """Cut off an incomplete last line (no trailing newline) left by a killed writer.

    Returns True if something was cut. A complete final JSON object missing only its newline is kept and
    the newline added.
    """
    p = Path(path)
    if not p.exists() or p.stat().st_size == 0:
        return False
    with p.open("rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return False
        # find the start of the last line
        pos = size - 1
        chunk = 4096
        start = 0
        while pos > 0:
            read_from = max(0, pos - chunk)
            fh.seek(read_from)
            block = fh.read(pos - read_from)
            nl = block.rfind(b"\n")
            if nl >= 0:
                start = read_from + nl + 1
                break
            pos = read_from
        fh.seek(start)
        tail = fh.read()
        try:
            json.loads(tail)
        except (json.JSONDecodeError, UnicodeDecodeError):
            fh.truncate(start)
            fh.flush()
            os.fsync(fh.fileno())
            return True
        fh.seek(0, os.SEEK_END)
        fh.write(b"\n")
        fh.flush()
        os.fsync(fh.fileno())
        return False


def append_jsonl(path: str | os.PathLike[str], items: Iterable[BaseModel | dict[str, Any]] | BaseModel | dict[str, Any]) -> int:
    """Append records to ``path`` crash-safely; returns the number of lines written."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    repair_jsonl_tail(p)
    batch = [items] if isinstance(items, (BaseModel, dict)) else list(items)
    data = b"".join(_to_line(x) for x in batch)
    fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    return len(batch)
