"""The server's refusals arrive as PersonalizerError with the gRPC code and a message."""
import math

import pytest

from _samples import ACTIONS, CONTEXT
from personalizer_client import Client, PersonalizerError, StatusCode, TransportError


def _refused(call, code):
    with pytest.raises(PersonalizerError) as info:
        call()
    assert not isinstance(info.value, TransportError)
    assert info.value.code == code
    assert info.value.message
    return info.value


def test_no_actions(client):
    _refused(lambda: client.rank(context=CONTEXT, actions=[]), StatusCode.INVALID_ARGUMENT)


def test_duplicate_action_ids(client):
    actions = [{"id": "same"}, {"id": "same"}]
    _refused(lambda: client.rank(context=CONTEXT, actions=actions), StatusCode.INVALID_ARGUMENT)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_feature(client, value):
    context = {"user": {"age": value}}
    _refused(lambda: client.rank(context=context, actions=ACTIONS), StatusCode.INVALID_ARGUMENT)


def test_every_action_excluded(client):
    _refused(lambda: client.rank(context=CONTEXT, actions=ACTIONS,
                                 excluded=[a["id"] for a in ACTIONS]), StatusCode.INVALID_ARGUMENT)


def test_unknown_excluded_id(client):
    _refused(lambda: client.rank(context=CONTEXT, actions=ACTIONS, excluded=["no-such-action"]),
             StatusCode.INVALID_ARGUMENT)


def test_connection_is_still_usable_after_a_refusal(client):
    _refused(lambda: client.rank(context=CONTEXT, actions=[]), StatusCode.INVALID_ARGUMENT)
    assert client.rank(context=CONTEXT, actions=ACTIONS).event_id


def test_unknown_loop(server):
    with Client(server.socket_path, loop="no-such-loop") as client:
        error = _refused(lambda: client.rank(context=CONTEXT, actions=ACTIONS), StatusCode.NOT_FOUND)
        assert "no-such-loop" in error.message
        _refused(client.status, StatusCode.NOT_FOUND)


def test_pending_event_id_reused(server, unique):
    event_id = unique("py-dup")
    with Client(server.socket_path, loop="slow") as client:
        client.rank(context=CONTEXT, actions=ACTIONS, event_id=event_id)
        _refused(lambda: client.rank(context=CONTEXT, actions=ACTIONS, event_id=event_id),
                 StatusCode.ALREADY_EXISTS)


def test_error_str_names_the_code():
    assert str(PersonalizerError(5, "unknown loop 'x'")) == "NOT_FOUND: unknown loop 'x'"


def test_token_required_by_a_secured_loop(server):
    with Client(server.socket_path, loop="secured", timeout=5.0) as anonymous:
        _refused(anonymous.status, StatusCode.UNAUTHENTICATED)
    with Client(server.socket_path, loop="secured", timeout=5.0, token="wrong") as wrong:
        _refused(wrong.status, StatusCode.UNAUTHENTICATED)
    with Client(server.socket_path, loop="secured", timeout=5.0, token="py-token") as right:
        assert right.status().rank_calls == 0
