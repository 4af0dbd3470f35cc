"""Transaction: the context manager of an object whose result is kept by `close()` and
dropped by `abort()` (an output file, a pool of segment encoders)."""
from __future__ import annotations

from typing import Self


class Transaction:
    """`with` closes on a clean exit and aborts on an error; subclasses define both."""

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
