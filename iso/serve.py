"""`azl-installer serve DIR`: profiles (and network boot files) for many machines, and their results.

A small HTTP server for testers and small sites, standard library only; a production site uses any
web server (docs/fleet.md shows nginx). What it does:

- GET/HEAD of files under DIR, read-only: the per-machine profiles (inst.profile=http://HOST/dir/),
  kickstarts and the network boot files (`make netboot`); in .ipxe scripts @SERVER@ becomes the
  http://HOST:PORT the machine asked at. No directory listings (a listing would hand
  every machine every other machine's profile), nothing outside DIR (no `..`, no link out of it).
- PUT (or POST) of a result to /results/NAME.json or /results/NAME.tar.gz, which the installer sends
  when a profile sets report_url (installer/report.py). Stored in the results directory (not served),
  each at most --max-upload bytes; a new result of the same machine replaces the old. One line per
  result on standard error, so the operator sees the fleet's outcome as it comes in; GET /results/
  returns every result so far as one JSON document.
- The address it listens on is always given (--bind): there is no default that listens on every network.
"""

from __future__ import annotations

import argparse
import http.server
import io
import json
import os
import re
import socket
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from iso.netboot import SERVER

RESULTS_PATH = "/results/"
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_RESULT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(json|tar\.gz)$")
DEFAULT_MAX_UPLOAD = 64 * 1024 * 1024  # a log bundle is KBs to a few MB; this bounds a misbehaving client
MAX_RESULTS = 20000  # files (two per machine): with the upload bound, the most a results directory can take
_CHUNK = 1024 * 1024


class ServeError(Exception):
    """A bad argument or a port that cannot be had: one line, exit 2."""


def parse_bind(text: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 as [::1]:8080) -> (host, port); port 0 picks a free one."""
    host, colon, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise ServeError(f"--bind {text}: expected HOST:PORT, e.g. 127.0.0.1:8080 or 10.0.0.5:8080")
    return host, int(port)


def result_summary(results: Path) -> dict[str, Any]:
    """NAME -> its JSON result document (or why it cannot be read), for GET /results/."""
    summary: dict[str, Any] = {}
    for path in sorted(results.glob("*.json")):
        try:
            summary[path.name.removesuffix(".json")] = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            summary[path.name.removesuffix(".json")] = {"unreadable": str(err)}
    return summary


def printable(value: object, limit: int = 300) -> str:
    """A client's text made safe for the operator's terminal: no escape sequences or line breaks, bounded."""
    text = "".join(c if c.isprintable() else "?" for c in str(value))
    return text if len(text) <= limit else text[:limit] + "..."


def result_line(name: str, data: bytes) -> str:
    """What the operator sees when a machine's result arrives (any client can send one: nothing it says
    reaches the terminal unfiltered)."""
    try:
        doc = json.loads(data)
        what = f"{printable(doc.get('result'), 20)} (exit code {printable(doc.get('exit_code'), 10)})"
        if doc.get("step"):
            what += f" in step '{printable(doc['step'], 40)}'"
        if doc.get("message"):
            what += f": {printable(doc['message'])}"
    except (ValueError, AttributeError, RecursionError):
        what = "a result that is not the installer's JSON"
    return f"serve: result of {name}: {what}"


class Handler(http.server.SimpleHTTPRequestHandler):
    server: Server
    timeout = 60  # seconds a connection may sit idle (a client that opens many and sends nothing)

    def __init__(self, request: Any, client_address: Any, server: Server) -> None:
        # The base class handles the whole request inside __init__, so the directory is given here.
        super().__init__(request, client_address, server, directory=str(server.root))

    # Reading: files only, inside the root.
    def send_head(self) -> Any:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path.rstrip("/") + "/" == RESULTS_PATH:
            return self._send_summary()
        local = Path(self.translate_path(self.path))
        real = local.resolve()
        if os.path.isdir(local) or not real.is_relative_to(self.server.root) or \
                real.is_relative_to(self.server.results) or not real.is_file():
            self.send_error(404, "not found")
            return None
        if real.suffix == ".ipxe":
            return self._send_script(real)
        return super().send_head()

    def _send_script(self, path: Path) -> io.BytesIO:
        """An iPXE script with @SERVER@ (iso/netboot.py) made the address this client reached us at: a
        QEMU guest behind a forward and a machine on the real network each get URLs that work for them."""
        host = self.headers.get("Host", "")
        if not _HOST.match(host):  # HTTP/1.0 without Host, or something that is no host: our own address
            host = self.server.url.removeprefix("http://").rstrip("/")
        body = path.read_bytes().replace(SERVER.encode(), f"http://{host}".encode())
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def _send_summary(self) -> None:
        body = json.dumps(result_summary(self.server.results), indent=2).encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # Writing: results only.
    def do_PUT(self) -> None:
        self._receive()

    def do_POST(self) -> None:
        self._receive()

    def _receive(self) -> None:
        path = self.path.split("?", 1)[0]
        name = path.removeprefix(RESULTS_PATH)
        if not path.startswith(RESULTS_PATH) or not _RESULT_NAME.match(name):
            self.send_error(405 if not path.startswith(RESULTS_PATH) else 400,
                            "read-only" if not path.startswith(RESULTS_PATH) else
                            "results are /results/NAME.json or /results/NAME.tar.gz")
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.send_error(411, "Content-Length required")
            return
        if int(length) > self.server.max_upload:
            self.send_error(413, f"larger than {self.server.max_upload} bytes")
            return
        if not (self.server.results / name).exists() and len(os.listdir(self.server.results)) >= MAX_RESULTS:
            self.send_error(507, f"{MAX_RESULTS} results are stored already; move them away")
            return
        data = self._read_body(int(length))
        if data is None:
            return
        target = self.server.results / name
        temporary = target.with_name(f".{name}.{threading.get_ident()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if name.endswith(".json"):
            self.server.say(result_line(name.removesuffix(".json"), data))

    def _read_body(self, length: int) -> bytes | None:
        chunks: list[bytes] = []
        left = length
        while left:
            chunk = self.rfile.read(min(left, _CHUNK))
            if not chunk:
                self.send_error(400, "the upload ended early")
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(404, "not found")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            super().log_message(format, *args)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, bind: tuple[str, int], root: Path, results: Path, *, max_upload: int = DEFAULT_MAX_UPLOAD,
                 quiet: bool = False) -> None:
        self.root, self.results = root.resolve(), results.resolve()
        self.max_upload, self.quiet = max_upload, quiet
        if ":" in bind[0]:
            self.address_family = socket.AF_INET6
        super().__init__(bind, Handler)

    def say(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"


def open_server(root: Path, bind: str, results: Path | None = None, *, max_upload: int = DEFAULT_MAX_UPLOAD,
                quiet: bool = False) -> Server:
    """A listening server (not yet serving); ServeError for what the operator must fix."""
    if not root.is_dir():
        raise ServeError(f"{root}: not a directory")
    results = results if results is not None else root / "results"
    try:
        results.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise ServeError(f"cannot create the results directory {results}: {err.strerror}") from None
    try:
        return Server(parse_bind(bind), root, results, max_upload=max_upload, quiet=quiet)
    except OSError as err:
        raise ServeError(f"cannot listen on {bind}: {err.strerror or err}") from None


@contextmanager
def serving(root: Path, bind: str = "127.0.0.1:0", results: Path | None = None, *,
            quiet: bool = True) -> Iterator[Server]:
    """The server in a thread for as long as the block runs (the VM harness and the tests use it)."""
    server = open_server(root, bind, results, quiet=quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="azl-installer serve",
        description="Serve DIR read-only over HTTP (profiles, kickstarts, network boot files) and collect the "
        "results installs send to its /results/ (a profile's report_url: http://HOST:PORT/results/). For testers "
        "and small sites; see docs/fleet.md. Stop with Ctrl-C.")
    parser.add_argument("dir", type=Path, metavar="DIR", help="the directory to serve")
    parser.add_argument("--bind", required=True, metavar="HOST:PORT",
                        help="the address to listen on, e.g. 127.0.0.1:8080 (port 0: any free one)")
    parser.add_argument("--results", type=Path, metavar="DIR",
                        help="where results are stored (default DIR/results; never served as files)")
    parser.add_argument("--max-upload", type=int, default=DEFAULT_MAX_UPLOAD, metavar="BYTES",
                        help=f"the largest upload accepted (default {DEFAULT_MAX_UPLOAD})")
    parser.add_argument("--quiet", action="store_true", help="no line per request (results are still shown)")
    return parser


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.max_upload < 1:
            raise ServeError("--max-upload: give a positive number of bytes")
        server = open_server(args.dir, args.bind, args.results, max_upload=args.max_upload, quiet=args.quiet)
    except ServeError as err:
        print(f"azl-installer serve: {err}", file=sys.stderr)
        return 2
    print(f"serve: {args.dir} at {server.url} (results into {server.results}, GET {server.url}results/); "
          "Ctrl-C stops", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("serve: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
