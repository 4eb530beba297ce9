"""Video input errors: one exception type that always names the file and the reason."""

from __future__ import annotations

from pathlib import Path

from tempoforge.errors import UserError

__all__ = ["VideoError"]


class VideoError(UserError):
    """A video that cannot be used as asked: missing, empty, not a video, no video stream, truncated.

    ``str(err)`` is ``"<path>: <reason>"``; ``err.path`` and ``err.reason`` hold the parts.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
