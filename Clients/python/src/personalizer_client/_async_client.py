"""The asyncio client: many calls in flight on one connection, answers matched by id."""
from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Iterable, Mapping
from typing import Any, Optional

from . import _messages as m
from ._errors import (ClientClosedError, ConnectError, DeadlineExceededError, ProtocolError,
                      ServerGoneError, TransportError)
from ._proto import personalizer_pb2 as pb
from ._results import RankResult, ServerStatus


class AsyncClient:
    """An asyncio connection to personalizerd that pipelines concurrent calls:

        async with AsyncClient(path) as client:
            results = await asyncio.gather(*(client.rank(context=..., actions=...) for _ in range(100)))

    `timeout` (seconds, None for no limit) bounds connecting and each call. Errors are the same
    as Client's; when the connection is lost every call in flight raises ServerGoneError."""

    def __init__(self, socket_path: str, loop: str = "default", timeout: Optional[float] = 5.0,
                 token: Optional[str] = None):
        self.socket_path = str(socket_path)
        self.loop = loop
        self.token = token or ""
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._reader: Optional[asyncio.StreamReader] = None
        self._writer: Optional[asyncio.StreamWriter] = None
        self._read_task: Optional[asyncio.Task] = None
        self._closed_reason: Optional[str] = "the client is not connected yet"

    # -- lifecycle --

    async def connect(self) -> "AsyncClient":
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self.socket_path), self.timeout)
        except asyncio.TimeoutError:
            raise DeadlineExceededError(f"timed out connecting to {self.socket_path}") from None
        except OSError as e:
            raise ConnectError(f"cannot connect to {self.socket_path}: {e.strerror or e}") from None
        self._closed_reason = None
        self._read_task = asyncio.get_running_loop().create_task(self._read_loop())
        return self

    async def close(self) -> None:
        self._end(ClientClosedError("the client was closed"))
        if self._read_task is not None:
            self._read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._read_task
            self._read_task = None
        if self._writer is not None:
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()

    async def __aenter__(self) -> "AsyncClient":
        return await self.connect()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- calls --

    async def rank(self, context: Optional[m.Features] = None,
                   actions: Iterable[Mapping[str, Any]] = (), excluded: Iterable[str] = (),
                   event_id: Optional[str] = None, defer_activation: bool = False) -> RankResult:
        req = m.rank_request(context, actions, excluded, event_id, defer_activation)
        return await self._call("rank", req)

    async def reward(self, event_id: str, value: float) -> None:
        await self._call("reward", pb.RewardRequest(event_id=event_id, value=float(value)))

    async def activate(self, event_id: str) -> None:
        await self._call("activate", pb.ActivateRequest(event_id=event_id))

    async def status(self) -> ServerStatus:
        return await self._call("status", pb.StatusRequest())

    # -- transport --

    async def _call(self, call: str, message):
        if self._closed_reason is not None:
            raise ClientClosedError(f"client is closed: {self._closed_reason}")
        request_id = next(self._ids)
        answer = asyncio.get_running_loop().create_future()
        self._pending[request_id] = answer
        try:
            self._writer.write(m.request_frame(request_id, self.loop, call, message, self.token))
            resp = await asyncio.wait_for(self._answer(answer), self.timeout)
        except asyncio.TimeoutError:
            raise DeadlineExceededError("timed out waiting for the server") from None
        finally:
            self._pending.pop(request_id, None)
        try:
            return m.result(resp, call)
        except ProtocolError as e:
            self._end(e)
            raise

    async def _answer(self, answer: asyncio.Future) -> pb.Response:
        try:
            await self._writer.drain()
        except OSError:
            pass   # the read loop reports the lost connection through `answer`
        return await answer

    async def _read_loop(self) -> None:
        try:
            while True:
                n = m.frame_length(await self._reader.readexactly(4))
                resp = m.parse_response(await self._reader.readexactly(n))
                answer = self._pending.get(resp.id)
                if answer is not None and not answer.done():
                    answer.set_result(resp)
        except asyncio.IncompleteReadError:
            self._end(ServerGoneError("the server closed the connection"))
        except OSError as e:
            self._end(ServerGoneError(f"the server reset the connection ({e.strerror or e})"))
        except ProtocolError as e:
            self._end(e)

    def _end(self, error: TransportError) -> None:
        """Closes the connection and fails every call in flight with `error`'s kind."""
        if self._closed_reason is None:
            self._closed_reason = str(error)
        for answer in self._pending.values():
            if not answer.done():
                answer.set_exception(type(error)(error.message))
        self._pending.clear()
        if self._writer is not None:
            self._writer.close()
