"""Serve a stand-in's MockTransport handler over real HTTP on 127.0.0.1, so the CLI can reach it by URL.

The CLI builds its own httpx client from settings (SCOUT_CRM_BASE_URL), which is the path worth proving:
settings -> factory -> adapter -> HTTP. Requests are handled one at a time (a lock), because the stand-ins
keep plain in-memory state; the server itself is threaded so a slow client does not block the others.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import httpx

Handler = Callable[[httpx.Request], httpx.Response]
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


class StandInServer:
    """`with StandInServer(standin.handler) as server:` then point a client at `server.url`."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> "StandInServer":
        outer = self

        class _Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real API would
            disable_nagle_algorithm = True  # headers and body go out as two writes; don't stall the second

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = httpx.Request(self.command, outer.url + self.path, headers=list(self.headers.items()),
                                        content=body)
                with outer._lock:
                    response = outer._handler(request)
                    payload = response.read()
                self.send_response(response.status_code)
                for name, value in response.headers.multi_items():
                    if name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
                pass  # the stand-in records its own requests

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Request)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="standin-http",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
