"""Transaction: the context manager of an object whose result is kept by `close()` and
dropped by `abort()` (an output file, a pool of segment encoders)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self


class Transaction(ABC):
    """`with` closes on a clean exit and aborts on an error; subclasses define both."""

    @abstractmethod
    def close(self) -> None:
        """Keep the result."""

    @abstractmethod
    def abort(self) -> None:
        """Drop the result."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
