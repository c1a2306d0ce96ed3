"""The blocking client: one request at a time on one connection."""
from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Iterable, Mapping
from typing import Any, Optional

from . import _messages as m
from ._errors import (ClientClosedError, ConnectError, DeadlineExceededError, ProtocolError,
                      ServerGoneError, TransportError)
from ._proto import personalizer_pb2 as pb
from ._results import RankResult, ServerStatus


class Client:
    """A connection to personalizerd. Not thread-safe: use one per thread.

    `timeout` (seconds, None for no limit) bounds connecting and each call. Server refusals raise
    PersonalizerError; transport failures raise its TransportError subclasses. After a timeout
    while sending, a bad frame or a lost server the client is closed (ClientClosedError next)."""

    def __init__(self, socket_path: str, loop: str = "default", timeout: Optional[float] = 5.0,
                 token: Optional[str] = None):
        self.socket_path = str(socket_path)
        self.loop = loop
        self.token = token or ""
        self.timeout = timeout
        self._ids = itertools.count(1)
        self._rx = bytearray()
        self._closed_reason: Optional[str] = None
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(self.socket_path)
        except socket.timeout:
            self._sock.close()
            raise DeadlineExceededError(f"timed out connecting to {self.socket_path}") from None
        except OSError as e:
            self._sock.close()
            raise ConnectError(f"cannot connect to {self.socket_path}: {e.strerror or e}") from None

    # -- lifecycle --

    def close(self) -> None:
        if self._closed_reason is None:
            self._closed_reason = "the client was closed"
        self._sock.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- calls --

    def rank(self, context: Optional[m.Features] = None,
             actions: Iterable[Mapping[str, Any]] = (), excluded: Iterable[str] = (),
             event_id: Optional[str] = None, defer_activation: bool = False) -> RankResult:
        """Ranks `actions` for `context`; result.reward_action_id is the one to show."""
        req = m.rank_request(context, actions, excluded, event_id, defer_activation)
        return self._call("rank", req)

    def reward(self, event_id: str, value: float) -> None:
        """Reports the reward of a ranked event (unknown or expired events are only counted)."""
        self._call("reward", pb.RewardRequest(event_id=event_id, value=float(value)))

    def activate(self, event_id: str) -> None:
        """Activates an event ranked with defer_activation=True."""
        self._call("activate", pb.ActivateRequest(event_id=event_id))

    def status(self) -> ServerStatus:
        """The loop's counters and model version."""
        return self._call("status", pb.StatusRequest())

    # -- transport --

    def _call(self, call: str, message):
        if self._closed_reason is not None:
            raise ClientClosedError(f"client is closed: {self._closed_reason}")
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        request_id = next(self._ids)
        self._send(m.request_frame(request_id, self.loop, call, message, self.token), deadline)
        while True:   # answers to requests given up after a timeout are skipped
            body = self._read_frame(deadline)
            try:
                resp = m.parse_response(body)
                if resp.id == request_id:
                    return m.result(resp, call)
            except ProtocolError as e:
                raise self._fail(e) from None

    def _set_timeout(self, deadline: Optional[float]) -> None:
        if deadline is None:
            self._sock.settimeout(None)
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self._sock.settimeout(left)

    def _fail(self, error: TransportError) -> TransportError:
        self._closed_reason = str(error)
        self._sock.close()
        return error

    def _send(self, frame: bytes, deadline: Optional[float]) -> None:
        try:
            self._set_timeout(deadline)
            self._sock.sendall(frame)
        except socket.timeout:   # part of the frame may be out: the stream cannot continue
            raise self._fail(DeadlineExceededError("timed out sending the request")) from None
        except OSError as e:
            raise self._fail(ServerGoneError(f"the server closed the connection ({e.strerror or e})")) from None

    def _read_frame(self, deadline: Optional[float]) -> bytes:
        while True:
            if len(self._rx) >= 4:
                try:
                    n = m.frame_length(bytes(self._rx[:4]))
                except ProtocolError as e:
                    raise self._fail(e) from None
                if len(self._rx) >= 4 + n:
                    body = bytes(self._rx[4:4 + n])
                    del self._rx[:4 + n]
                    return body
            try:
                self._set_timeout(deadline)
                chunk = self._sock.recv(65536)
            except socket.timeout:   # what arrived so far stays buffered: the stream is intact
                raise DeadlineExceededError("timed out waiting for the server") from None
            except OSError as e:
                raise self._fail(ServerGoneError(f"the server reset the connection ({e.strerror or e})")) from None
            if not chunk:
                raise self._fail(ServerGoneError("the server closed the connection"))
            self._rx += chunk
