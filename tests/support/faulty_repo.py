"""A package repository served over HTTP on 127.0.0.1 that fails the way real mirrors do.

The payload fault tests give dnf this server's URL. Its fault decides what a request gets:
- "none": the repository's files as they are;
- "missing": 404 for everything (a wrong URL or a repository that was removed);
- "stall": the connection is accepted and the request read, then nothing is ever sent (a mirror
  that hangs; dnf must give up after its bounded timeout);
- "corrupt": the files, except that every .rpm has bytes flipped in its middle (a damaged mirror or
  a cache gone bad: the checksum in the metadata no longer matches).
A refused connection needs no server: refused_url() is a loopback port nothing listens on.

The server runs in a thread of the test process; stop() closes it and every connection it holds.
"""

from __future__ import annotations

import http.server
import socket
import threading
from pathlib import Path
from typing import Literal

Fault = Literal["none", "missing", "stall", "corrupt"]


class FaultyRepo:
    def __init__(self, root: Path, fault: Fault) -> None:
        self.root = root
        self.fault = fault
        self.requests: list[str] = []
        self._release = threading.Event()  # set at stop(): stalled handlers return
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> FaultyRepo:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> FaultyRepo:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        repo = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the test reads repo.requests instead."""

            def do_GET(self) -> None:
                repo.requests.append(self.path)
                if repo.fault == "stall":
                    repo._release.wait(600)
                    return
                path = (repo.root / self.path.split("?")[0].lstrip("/")).resolve()
                if repo.fault == "missing" or not path.is_relative_to(repo.root.resolve()) or not path.is_file():
                    self.send_error(404)
                    return
                data = bytearray(path.read_bytes())
                if repo.fault == "corrupt" and path.suffix == ".rpm":
                    middle = len(data) // 2
                    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(bytes(data))

        return Handler


def refused_url() -> str:
    """A loopback URL whose port has no listener (bound, then closed): connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
