"""The error a user can fix (`UsageError`) and how any error is shown: as one line."""
from __future__ import annotations


class UsageError(Exception):
    """A bad option, input or output; the message is one line for the user."""


def one_line(exc: BaseException) -> str:
    """The first line of an error's message, whitespace collapsed (its type if empty)."""
    lines = [" ".join(line.split()) for line in str(exc).splitlines()]
    return next((line for line in lines if line), type(exc).__name__)
