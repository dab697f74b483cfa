"""A loopback TCP proxy in front of the test PostgreSQL that can lose a reply the way a network does.

`cut_after_next_commit()` arms it: the next COMMIT a client sends reaches the server, the server's answer is
read (so the transaction is committed) and never relayed, and the client's connection is closed. The client
cannot tell whether its transaction landed, which is the case a store must not retry blindly.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit, urlunsplit


class PgProxy:
    def __init__(self, server_url: str):
        parts = urlsplit(server_url)
        self._server = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._url = parts
        self._cut = False
        self.cuts = 0
        self._listener: asyncio.Server | None = None

    async def __aenter__(self) -> "PgProxy":
        self._listener = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._listener is not None
        self._listener.close()

    @property
    def url(self) -> str:
        """The server's URL with this proxy as its host and port."""
        assert self._listener is not None
        port = self._listener.sockets[0].getsockname()[1]
        netloc = self._url.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{port}"
        return urlunsplit(self._url._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))

    def cut_after_next_commit(self) -> None:
        self._cut = True

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self._server)
        swallow = asyncio.Event()  # a COMMIT went up armed: the server's next answer is dropped

        async def upstream() -> None:
            while data := await client_r.read(65536):
                if self._cut and b"COMMIT" in data.upper():
                    self._cut = False
                    swallow.set()
                server_w.write(data)
                await server_w.drain()

        async def downstream() -> None:
            while data := await server_r.read(65536):
                if swallow.is_set():
                    self.cuts += 1  # the server committed; the client never hears it
                    return
                client_w.write(data)
                await client_w.drain()

        tasks = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for writer in (client_w, server_w):
                writer.close()
