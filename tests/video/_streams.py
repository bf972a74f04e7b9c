"""An HTTP server on 127.0.0.1 for live-source tests: serves files whole, paced, or cut off."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class StreamServer:
    """Serves the files of ``folder``. ``/paced/NAME?seconds=S`` sends NAME spread over S seconds
    (a live source's pace); ``/cut/NAME`` announces the whole length, sends half, and hangs up
    (a stream that stops mid-way)."""

    def __init__(self, folder: Path) -> None:
        root = Path(folder)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                parts = path.strip("/").split("/")
                mode, name = (parts[0], parts[1]) if len(parts) == 2 else ("whole", parts[0])
                file = root / name
                if not file.is_file():
                    self.send_error(404)
                    return
                data = file.read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    if mode == "paced":
                        seconds = float(query.partition("=")[2] or 5)
                        chunks = [data[i: i + 4096] for i in range(0, len(data), 4096)]
                        for chunk in chunks:
                            self.wfile.write(chunk)
                            self.wfile.flush()
                            time.sleep(seconds / len(chunks))
                    elif mode == "cut":
                        self.wfile.write(data[: len(data) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                    else:
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{path}"

    def __enter__(self) -> StreamServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
