"""Files that appear whole or not at all: written to a temp file beside the target, renamed at the end.

* Temp files are named ``.<target>.posetrack-<pid>-<random><suffix>`` (suffix ``.part...``), so a
  later run can tell ours apart and whether their writer is still alive: a run killed with SIGKILL
  (which no cleanup survives) leaves them behind, and :func:`remove_stale_parts` removes those
  whose process is gone when the next run writes into the same folder.
* Without ``overwrite`` the final rename never replaces a file: it is a hard link (which fails if
  the target exists) followed by removing the temp name, so a file that appeared while we were
  writing (another run into the same folder) is kept and this writer fails with an OutputError.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from posetrack.errors import OutputError

_TAG = "posetrack"
_PART = re.compile(rf"^\..+\.{_TAG}-(?P<pid>\d+)-[a-z0-9_]+\.(.*\.)?part(\.|$)")

# errno values meaning "this file system has no hard links": fall back to a checked rename.
_NO_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK, errno.ENOSYS}


def temp_path(path: Path, suffix: str = ".part") -> Path:
    """A new, empty temp file beside ``path`` named for this process (see the module docstring).

    ``suffix`` must hold ``.part`` (e.g. ``.part.mp4`` to keep the format's extension)."""
    if ".part" not in suffix:
        raise ValueError(f"temp suffix {suffix!r} must hold '.part'")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_TAG}-{os.getpid()}-", suffix=suffix, dir=path.parent)
    os.close(fd)
    return Path(tmp)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def temp_files_of(path: str | Path) -> list[Path]:
    """Temp files of this tool for the target ``path``, whatever process wrote them (a killed
    cluster worker's, whose pid may belong to another machine)."""
    path = Path(path)
    prefix = f".{path.name}.{_TAG}-"
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    return [path.parent / n for n in names if n.startswith(prefix) and _PART.match(n)]


def remove_stale_parts(folder: str | Path) -> list[Path]:
    """Delete temp files of this tool in ``folder`` whose writing process no longer exists."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        m = _PART.match(name)
        if m is not None and not _alive(int(m["pid"])):
            path = Path(folder) / name
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass
    return removed


def output_error(path: Path, e: OSError) -> OutputError:
    """The one-line error for a failed write (disk full, file too large, permissions...)."""
    reason = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exceeded",
        errno.EFBIG: "the file is larger than allowed here",
    }.get(e.errno, e.strerror or str(e))
    return OutputError(f"{path}: could not be written ({reason})")


@contextlib.contextmanager
def write_errors(path: str | Path) -> Iterator[None]:
    """Inside it, an OSError (disk full, file too large, permissions) becomes the one-line
    OutputError for ``path``."""
    try:
        yield
    except OSError as e:
        raise output_error(Path(path), e) from None


def move_into_place(tmp: Path, path: Path, overwrite: bool) -> None:
    """Rename ``tmp`` onto ``path``; without ``overwrite`` fail (and delete ``tmp``) if ``path`` exists."""
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        tmp.unlink(missing_ok=True)
        raise OutputError(
            f"{path}: appeared while this run was writing it (another run into the same folder?); "
            "it was kept, this run's output was not (use --overwrite to replace it)"
        ) from None
    except OSError as e:
        if e.errno not in _NO_LINKS:
            raise
        if path.exists():  # no hard links here: the best check there is, just before the rename
            tmp.unlink(missing_ok=True)
            raise OutputError(f"{path}: appeared while this run was writing it; it was kept") from None
        os.replace(tmp, path)
        return
    tmp.unlink()


class AtomicFile:
    """A text or binary file written under a temporary name and renamed onto ``path`` on commit.

    An interrupted run (exception, Ctrl-C, SIGTERM) calls :meth:`abort`, which deletes the temp
    file, so the target is either absent or complete. ``overwrite=False`` never replaces a file
    that is at ``path`` when :meth:`commit` runs.
    """

    def __init__(self, path: str | Path, mode: str = "w", suffix: str = ".part", overwrite: bool = True) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.tmp_path = temp_path(self.path, suffix)
        binary = "b" in mode
        try:
            self.file: IO = open(  # noqa: SIM115  (closed in commit/abort)
                self.tmp_path, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})
            )
        except BaseException:
            self.tmp_path.unlink(missing_ok=True)
            raise

    def commit(self) -> Path:
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.chmod(self.tmp_path, 0o644)
            move_into_place(self.tmp_path, self.path, self.overwrite)
        except OSError as e:
            self.abort()
            raise output_error(self.path, e) from None
        except BaseException:
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        if not self.file.closed:
            try:
                self.file.close()
            except OSError:  # e.g. the flush of a full disk; the file goes anyway
                pass
        self.tmp_path.unlink(missing_ok=True)


def refuse_existing(path: str | Path, overwrite: bool) -> None:
    """OutputError when ``path`` exists and replacing it was not asked for (--overwrite)."""
    if not overwrite and Path(path).exists():
        raise OutputError(f"{path}: exists already (use --overwrite to replace it)")


def write_json(path: str | Path, data, *, overwrite: bool = False, indent: int | None = 1) -> Path:
    """``data`` as a JSON file that appears whole; an existing file is replaced only with ``overwrite``."""
    path = Path(path)
    refuse_existing(path, overwrite)
    with write_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        out = AtomicFile(path, overwrite=overwrite)
    try:
        with write_errors(path):
            json.dump(data, out.file, indent=indent)
            return out.commit()
    except BaseException:
        out.abort()
        raise
