"""A real HTTP server on 127.0.0.1 (port 0) that serves checkpoints the tests write.

It speaks HTTP/1.1 with Range support, counts requests, and has switches to misbehave: cut a
response after N bytes, answer 500 a few times, ignore Range, or trickle bytes slowly so two
processes overlap.
"""

from __future__ import annotations

import hashlib
import io
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch

from posetrack import zoo
from posetrack.download import RetryPolicy

FAST = RetryPolicy(attempts=3, backoff=0.0, timeout=5.0)


@dataclass
class ServerState:
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    cut_next: list[int] = field(default_factory=list)  # per response: body bytes sent before cutting
    fail_500: int = 0  # answer this many GETs with 500
    ignore_range: bool = False
    chunk_delay: float = 0.0  # seconds between 16 KiB chunks
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _empty(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        st: ServerState = self.server.state  # type: ignore[attr-defined]
        with st.lock:
            st.requests.append((self.path, self.headers.get("Range")))
            fail = st.fail_500 > 0
            st.fail_500 -= int(fail)
            cut = st.cut_next.pop(0) if st.cut_next else None
        if fail:
            return self._empty(500)
        data = st.files.get(self.path)
        if data is None:
            return self._empty(404)
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if m and not st.ignore_range:
            start = int(m.group(1))
            if start >= len(data):
                return self._empty(416)
        body = data[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        limit = len(body) if cut is None else min(cut, len(body))
        for i in range(0, limit, 16384):
            self.wfile.write(body[i:min(i + 16384, limit)])
            if st.chunk_delay:
                self.wfile.flush()
                time.sleep(st.chunk_delay)
        if cut is not None:  # drop the connection mid-body
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


class FileServer:
    def __init__(self) -> None:
        self.state = ServerState()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.state = self.state  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def add(self, path: str, data: bytes) -> str:
        self.state.files[path] = data
        return self.url(path)

    def gets(self, path: str | None = None) -> list[tuple[str, str | None]]:
        return [r for r in self.state.requests if path is None or r[0] == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def checkpoint_bytes(seed: int = 0, n: int = 60_000) -> bytes:
    """A small real checkpoint (torch.save'd state dict), about 4*n bytes."""
    g = torch.Generator().manual_seed(seed)
    sd = {"conv1.weight": torch.randn(n, generator=g), "final_layer.bias": torch.randn(17, generator=g)}
    buf = io.BytesIO()
    torch.save(sd, buf)
    return buf.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# An architecture for the test entries to belong to (never built by these tests).
TINY_ARCH = zoo.Architecture(name="tiny-net", kind="topdown", builder="torch.nn:Identity",
                             default_weights="tiny-net-coco",
                             preprocessing=zoo.Preprocessing(input_size=(48, 64), keypoint_layout="coco17"))


def tiny_entry(name: str, urls: tuple[str, ...], digest: str | None, **kw) -> zoo.Weights:
    kw.setdefault("filename", None)
    return zoo.Weights(name=name, arch="tiny-net", urls=urls, sha256=digest,
                       preprocessing=TINY_ARCH.preprocessing, **kw)
