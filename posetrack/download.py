"""Fetch one file over HTTP(S) into a cache, safely.

Why not ``torch.hub.download_url_to_file``: it restarts from zero after a cut connection, does not
retry, does not lock (two processes download the same 250 MB twice), and a failure surfaces as a
raw ``URLError``. Here a download resumes from a ``.part`` file with an HTTP Range request, retries
connection errors and 5xx replies with exponential backoff (never 404), verifies a full sha256 or
a publisher's hash prefix, and only then renames the file into place atomically. Every failure is
one :class:`~posetrack.errors.DownloadError` that says where to put the file by hand.
Only the standard library (urllib) is used for the transfer.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import logging
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from posetrack.errors import DownloadError

_CHUNK = 1 << 16
_USER_AGENT = "posetrack-downloader"


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``attempts`` tries per URL, sleeping ``backoff * 2**i`` s between them."""

    attempts: int = 4
    backoff: float = 0.5
    timeout: float = 30.0  # seconds without data before a read counts as a connection error


def cache_root() -> Path:
    """``$POSETRACK_HOME``, else ``$XDG_CACHE_HOME/posetrack``, else ``~/.cache/posetrack``."""
    home = os.environ.get("POSETRACK_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "posetrack"


def torch_hub_checkpoints() -> Path:
    """Where torchvision keeps its weights, so both tools share one copy of each file."""
    import torch.hub  # torch is heavy; only callers that need hub paths pay for the import

    return Path(torch.hub.get_dir()) / "checkpoints"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def digest_matches(digest: str, expected: str) -> bool:
    """A full sha256 must match exactly; a shorter string is a prefix (the file-name convention)."""
    return digest.lower().startswith(expected.lower())


# --- verified-stamp: hash a multi-hundred-MB cached file once, not on every run -----------------


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _write_stamp(path: Path, digest: str) -> None:
    st = path.stat()
    _stamp_path(path).write_text(f"{digest} {st.st_size} {st.st_mtime_ns}\n")


def _stamp_ok(path: Path, expected: str) -> bool:
    try:
        digest, size, mtime = _stamp_path(path).read_text().split()
        st = path.stat()
    except (OSError, ValueError):
        return False
    return int(size) == st.st_size and int(mtime) == st.st_mtime_ns and digest_matches(digest, expected)


def move_aside(path: Path) -> Path:
    """Rename a bad file to ``<name>.corrupt`` so it is never loaded but can still be inspected."""
    bad = path.with_name(path.name + ".corrupt")
    with contextlib.suppress(FileNotFoundError):  # another process moved it first
        os.replace(path, bad)
    _stamp_path(path).unlink(missing_ok=True)
    return bad


def verify_file(path: Path, expected: str | None, *, label: str, force: bool = False) -> None:
    """Check ``path`` against ``expected`` (full sha256 or prefix); move it aside on mismatch.

    A file verified before (same size and mtime) is not hashed again unless ``force``.
    """
    if expected is None:
        return
    if not force and _stamp_ok(path, expected):
        return
    digest = sha256_file(path)
    if not digest_matches(digest, expected):
        bad = move_aside(path)
        raise DownloadError(
            f"weights '{label}': {path} failed its checksum (sha256 {digest[:16]}..., expected "
            f"{expected}{'' if len(expected) == 64 else '...'}); it is truncated or corrupt and was "
            f"moved aside to {bad}; run again to download a fresh copy"
        )
    _write_stamp(path, digest)


# --- locking ----------------------------------------------------------------------------------


@contextlib.contextmanager
def file_lock(path: Path, *, label: str) -> Iterator[None]:
    """Exclusive ``flock`` on ``<path>.lock``: a second process waits here until the first is done."""
    lock = path.with_name(path.name + ".lock")
    with open(lock, "a+b") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"posetrack: waiting for another process downloading {label} ...", file=sys.stderr)
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


# --- transfer ---------------------------------------------------------------------------------


class _Retryable(Exception):
    """A failure worth trying again: connection refused/reset, timeout, short body, HTTP 5xx."""


class _Fatal(Exception):
    """A failure that another try will not fix (HTTP 4xx)."""


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse:
    headers = {"User-Agent": _USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    req = urllib.request.Request(url, headers=headers)
    try:
        return urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416 and offset:
            raise  # the caller restarts from zero
        text = f"HTTP {e.code} {e.reason}"
        if e.code >= 500 or e.code in (408, 429):
            raise _Retryable(text) from None
        raise _Fatal(text) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, "reason", e)
        text = f"{type(reason).__name__}: {reason}"
        if isinstance(reason, socket.gaierror):  # unknown host / no DNS: offline, retrying won't help
            raise _Fatal(f"{text} (no network?)") from None
        raise _Retryable(text) from None


def _transfer_once(url: str, part: Path, *, progress: bool, timeout: float, desc: str) -> None:
    """One HTTP request that appends to ``part`` (resuming when the server honours Range)."""
    offset = part.stat().st_size if part.exists() else 0
    try:
        resp = _open(url, offset, timeout)
    except urllib.error.HTTPError:  # 416: our partial file is not a prefix the server knows
        part.unlink(missing_ok=True)
        offset = 0
        resp = _open(url, 0, timeout)
    from tqdm import tqdm  # only when something is downloaded (keeps `posetrack --help` fast)

    with resp:
        if offset and resp.status != 206:
            offset = 0  # server ignored Range: start over
        length = resp.headers.get("Content-Length")
        expected = int(length) if length is not None else None
        total = offset + expected if expected is not None else None
        received = 0
        mode = "ab" if offset else "wb"
        with open(part, mode) as f, tqdm(
            total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
            desc=desc, file=sys.stderr, leave=True,
            # the CLI's -q (the posetrack logger set above INFO) silences download bars too
            disable=not progress or logging.getLogger("posetrack").level > logging.INFO,
        ) as bar:
            try:
                while True:
                    block = resp.read(_CHUNK)
                    if not block:
                        break
                    f.write(block)
                    received += len(block)
                    bar.update(len(block))
            except (OSError, http.client.HTTPException) as e:
                raise _Retryable(f"connection lost after {offset + received} bytes ({e})") from None
        if expected is not None and received < expected:
            raise _Retryable(f"connection closed after {offset + received} of {total} bytes")


def _manual_hint(dest: Path, urls: Sequence[str]) -> str:
    return (
        f"download {dest.name} yourself (from {urls[0]}) and place it at {dest}, "
        f"or give the file's path as the weights"
    )


def download_file(
    urls: str | Sequence[str],
    dest: Path,
    *,
    sha256: str | None,
    label: str,
    progress: bool = True,
    retry: RetryPolicy | None = None,
) -> Path:
    """Make ``dest`` exist and verify; download it from the first working URL if needed.

    ``sha256`` is the full digest or a prefix of it; ``label`` names the model in messages.
    Returns ``dest``. Raises DownloadError (one message, with the manual fallback) on failure.
    """
    urls = [urls] if isinstance(urls, str) else list(urls)
    retry = retry or RetryPolicy()
    dest = Path(dest)
    if dest.exists():  # fast path, no lock and no request
        verify_file(dest, sha256, label=label)
        return dest
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DownloadError(f"weights '{label}': cannot create the cache folder {dest.parent}: {e}") from None
    with file_lock(dest, label=label):
        if dest.exists():  # another process finished it while we waited
            verify_file(dest, sha256, label=label)
            return dest
        part = dest.with_name(dest.name + ".part")
        failures: list[str] = []
        for url in urls:
            reason = _download_with_retries(url, part, progress=progress, retry=retry, desc=dest.name)
            if reason is None:
                break
            failures.append(f"{url}: {reason}")
        else:
            raise DownloadError(
                f"could not download weights '{label}' ({'; '.join(failures)}); "
                + _manual_hint(dest, urls)
            )
        if sha256 is not None:
            digest = sha256_file(part)
            if not digest_matches(digest, sha256):
                part.unlink(missing_ok=True)
                raise DownloadError(
                    f"weights '{label}' downloaded from {url} failed the checksum (sha256 "
                    f"{digest[:16]}..., expected {sha256}{'' if len(sha256) == 64 else '...'}); the "
                    f"download was deleted and nothing was cached; try again, or "
                    + _manual_hint(dest, urls)
                )
        os.replace(part, dest)  # atomic: readers see no file or the whole verified file
        if sha256 is not None:
            _write_stamp(dest, digest)
        return dest


def _download_with_retries(
    url: str, part: Path, *, progress: bool, retry: RetryPolicy, desc: str
) -> str | None:
    """Try ``url`` up to ``retry.attempts`` times; return None on success, else the last reason."""
    reason = "no attempt made"
    for attempt in range(max(1, retry.attempts)):
        if attempt:
            time.sleep(retry.backoff * 2 ** (attempt - 1))
        try:
            _transfer_once(url, part, progress=progress, timeout=retry.timeout, desc=desc)
            return None
        except _Fatal as e:
            return str(e)
        except (TimeoutError, _Retryable) as e:
            reason = f"{e} (after {attempt + 1} attempt{'s' if attempt else ''})"
    return reason
