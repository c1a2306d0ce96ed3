"""Python values to Request messages and Response messages to results, shared by both clients."""
from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterable, Mapping
from typing import Any, Optional

from ._errors import PersonalizerError, ProtocolError
from ._proto import personalizer_pb2 as pb
from ._results import RankResult, ServerStatus

Features = Mapping[str, Mapping[str, Any]]
"""Namespace name -> feature name -> value (str: text feature; int, float, bool: number)."""

MAX_FRAME = 64 * 1024 * 1024
HEADER = struct.Struct(">I")

_STATUS_FIELDS = tuple(f.name for f in dataclasses.fields(ServerStatus))


def _add_namespaces(target, features: Optional[Features], where: str) -> None:
    if features is None:
        return
    if not isinstance(features, Mapping):
        raise TypeError(f"{where}: features must be a mapping of namespace -> "
                        f"{{feature: value}}, got {type(features).__name__}")
    for ns_name, ns_features in features.items():
        if not isinstance(ns_features, Mapping):
            raise TypeError(f"{where}: namespace {ns_name!r} must map feature names to values, "
                            f"got {type(ns_features).__name__}")
        ns = target.add(name=str(ns_name))
        for name, value in ns_features.items():
            if isinstance(value, str):
                ns.features.add(name=str(name), text=value)
            elif isinstance(value, (bool, int, float)):
                ns.features.add(name=str(name), number=float(value))
            else:
                raise TypeError(f"feature {ns_name}.{name} ({where}) has unsupported type "
                                f"{type(value).__name__}; use str, int, float or bool")


def rank_request(context: Optional[Features], actions: Iterable[Mapping[str, Any]],
                 excluded: Iterable[str] = (), event_id: Optional[str] = None,
                 defer_activation: bool = False) -> pb.RankRequest:
    req = pb.RankRequest(event_id=event_id or "", defer_activation=bool(defer_activation))
    _add_namespaces(req.context_features, context, "context")
    for i, action in enumerate(actions):
        if not isinstance(action, Mapping) or "id" not in action:
            raise TypeError(f"action {i} must be a mapping with an 'id' (and optional 'features')")
        a = req.actions.add(id=str(action["id"]))
        _add_namespaces(a.features, action.get("features"), f"action {action['id']!r}")
    req.excluded_action_ids.extend(str(x) for x in excluded)
    return req


def request_frame(request_id: int, loop: str, call: str, message, token: str = "") -> bytes:
    req = pb.Request(id=request_id, loop=loop, token=token)
    getattr(req, call).CopyFrom(message)
    body = req.SerializeToString()
    return HEADER.pack(len(body)) + body


def parse_response(body: bytes) -> pb.Response:
    resp = pb.Response()
    try:
        resp.ParseFromString(body)
    except Exception as e:  # DecodeError, or anything the runtime raises on garbage
        raise ProtocolError(f"bad frame: {len(body)} bytes that are not a Response ({e})") from None
    return resp


def frame_length(header: bytes) -> int:
    (n,) = HEADER.unpack(header)
    if n > MAX_FRAME:
        raise ProtocolError(f"bad frame: length {n} exceeds the limit of {MAX_FRAME}")
    return n


def result(resp: pb.Response, call: str):
    """The result of a `call` answer: RankResult, ServerStatus or None; raises server errors."""
    which = resp.WhichOneof("result")
    if which == "error":
        raise PersonalizerError(resp.error.code, resp.error.message)
    if which != call:
        raise ProtocolError(f"response {resp.id} to a {call} request carries {which or 'nothing'}")
    if call == "rank":
        r = resp.rank
        return RankResult(event_id=r.event_id, reward_action_id=r.reward_action_id,
                          ranking=[(a.id, a.probability) for a in r.ranking],
                          model_version=r.model_version)
    if call == "status":
        return ServerStatus(**{name: getattr(resp.status, name) for name in _STATUS_FIELDS})
    return None
