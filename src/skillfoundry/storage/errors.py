"""The one error type of the storage layer."""

from __future__ import annotations


class StorageError(ValueError):
    """Bad input to the store (a row, a file, a query, a path): the message is one line naming the thing."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
