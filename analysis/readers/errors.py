"""The one error every reader raises for input it cannot use."""

from __future__ import annotations

import os


class InputError(Exception):
    """A file corscope cannot read. `str()` is one line: "PATH: message"."""

    def __init__(self, path: str | os.PathLike[str], message: str) -> None:
        self.path = os.fspath(path)
        # Messages end up on one terminal line, so fold any newline a parser gave us.
        self.message = " ".join(str(message).split())
        super().__init__(self.path, self.message)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"
