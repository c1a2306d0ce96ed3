"""Exceptions raised by the clients.

    PersonalizerError            the server refused a request: .code (gRPC code), .message
    └── TransportError           the request did not get an answer
        ├── ConnectError         no server: socket missing, connection refused   (UNAVAILABLE)
        ├── ServerGoneError      the server closed or reset the connection        (UNAVAILABLE)
        ├── DeadlineExceededError  no answer within the timeout                  (DEADLINE_EXCEEDED)
        ├── ProtocolError        a bad frame or unexpected answer; connection closed (INTERNAL)
        └── ClientClosedError    the client was closed (by close() or after one of the above)
"""
from __future__ import annotations

import enum


class StatusCode(enum.IntEnum):
    """gRPC canonical status codes."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


def _code_name(code: int) -> str:
    try:
        return StatusCode(code).name
    except ValueError:
        return f"code {code}"


class PersonalizerError(Exception):
    """An error answer from the server, or (subclasses) a transport failure."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = int(code)
        self.message = message

    def __str__(self) -> str:
        return f"{_code_name(self.code)}: {self.message}"


class TransportError(PersonalizerError):
    """The request got no answer from the server."""

    default_code = StatusCode.UNAVAILABLE

    def __init__(self, message: str) -> None:
        super().__init__(self.default_code, message)


class ConnectError(TransportError):
    """Could not connect: no socket at the path, or nobody listening on it."""


class ServerGoneError(TransportError):
    """The server closed or reset the connection."""


class DeadlineExceededError(TransportError):
    """No answer within the timeout."""

    default_code = StatusCode.DEADLINE_EXCEEDED


class ProtocolError(TransportError):
    """The server sent a bad frame or an answer of the wrong kind; the connection is closed."""

    default_code = StatusCode.INTERNAL


class ClientClosedError(TransportError):
    """The client is closed, by close() or after a failure that ended the connection."""
