"""Files that appear whole or not at all: written to a temp file beside the target, renamed at the end."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO


class AtomicFile:
    """A text or binary file written under a temporary name and renamed onto ``path`` on commit.

    An interrupted run (exception, Ctrl-C) calls :meth:`abort`, which deletes the temp file, so the
    target is either absent or complete.
    """

    def __init__(self, path: str | Path, mode: str = "w", suffix: str = ".part") -> None:
        self.path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=suffix, dir=self.path.parent)
        self.tmp_path = Path(tmp)
        binary = "b" in mode
        self.file: IO = os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""}))

    def commit(self) -> Path:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.chmod(self.tmp_path, 0o644)
        os.replace(self.tmp_path, self.path)
        return self.path

    def abort(self) -> None:
        if not self.file.closed:
            self.file.close()
        self.tmp_path.unlink(missing_ok=True)
