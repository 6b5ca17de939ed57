"""A TCP proxy on 127.0.0.1 that can reset, refuse or black-hole what it forwards.

The database fault tests point ``DATABASE_URL`` at it instead of PostgreSQL:

* ``pass`` forwards both ways;
* ``reset`` closes every open connection and each new one at once (a restart);
* ``refuse`` stops listening (connection refused);
* ``blackhole`` accepts and keeps connections open but forwards nothing, either way
  (a partition: no answer, no error, until a timeout).

It runs its own event loop in a thread, so the code under test keeps its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Literal, Self

Mode = Literal["pass", "reset", "refuse", "blackhole"]


class TcpFaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode: Mode = "pass"
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(5)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._close_all(stop_listening=True), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def set_mode(self, mode: Mode) -> None:
        asyncio.run_coroutine_threadsafe(self._switch(mode), self._loop).result(5)

    async def _switch(self, mode: Mode) -> None:
        self.mode = mode
        if mode in ("reset", "refuse"):  # a black hole keeps connections, silent
            await self._close_all(stop_listening=mode == "refuse")
        if mode != "refuse" and self._server is None:
            await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close_all(self, *, stop_listening: bool) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if stop_listening and self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "reset":
            writer.transport.abort()
            return
        self._writers.add(writer)
        if self.mode == "blackhole":
            return  # held open, never answered
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.mode == "blackhole":
                    continue  # swallowed: the partition
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()
            self._writers.discard(writer)
