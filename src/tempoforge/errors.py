"""Errors that the CLI reports as one line (no traceback unless ``--debug``)."""

from __future__ import annotations

__all__ = ["TempoforgeError", "UserError"]


class TempoforgeError(Exception):
    """Base of tempoforge's own errors."""


class UserError(TempoforgeError, ValueError):
    """Bad input from the user (a path, a flag, a file's content): reported as a one-line message."""
