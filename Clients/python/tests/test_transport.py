"""Transport failures of the blocking client: no server, timeouts, bad frames, lost server."""
import struct
import time

import pytest

from _samples import ACTIONS, CONTEXT
from personalizer_client import (Client, ClientClosedError, ConnectError, DeadlineExceededError,
                                 PersonalizerError, ProtocolError, ServerGoneError, StatusCode)


def test_no_socket_file(silent_server, tmp_path):
    with pytest.raises(ConnectError) as info:
        Client(str(tmp_path / "missing.sock"))
    assert info.value.code == StatusCode.UNAVAILABLE
    assert isinstance(info.value, PersonalizerError)


def test_connection_refused(silent_server):
    silent_server.listener.close()   # the socket file stays, nobody listens
    with pytest.raises(ConnectError, match="refused"):
        Client(silent_server.socket_path)


def test_timeout(silent_server):
    with Client(silent_server.socket_path, timeout=0.3) as client:
        silent_server.accept()   # accepted, never answered
        start = time.monotonic()
        with pytest.raises(DeadlineExceededError) as info:
            client.status()
        assert 0.25 <= time.monotonic() - start < 3
        assert info.value.code == StatusCode.DEADLINE_EXCEEDED
        # nothing was lost: the client may keep waiting on the same connection
        with pytest.raises(DeadlineExceededError):
            client.status()


def test_late_answer_is_skipped(silent_server):
    from personalizer_client._proto import personalizer_pb2 as pb
    with Client(silent_server.socket_path, timeout=0.2) as client:
        peer = silent_server.accept()
        with pytest.raises(DeadlineExceededError):
            client.status()   # request 1
        for rid in (1, 2):    # the late answer to 1, then the answer to 2
            body = pb.Response(id=rid, status=pb.StatusResponse(rank_calls=rid)).SerializeToString()
            peer.sendall(struct.pack(">I", len(body)) + body)
        assert client.status().rank_calls == 2


@pytest.mark.parametrize("frame", [
    b"\x00\x00\x00\x03\xff\xff\xff",            # not a Response
    b"\xff\xff\xff\xff",                        # absurd length
    b"\x00\x00\x00\x04\x08\x01\x52\x00",        # id 1 answered with a Rank result
])
def test_bad_frame(silent_server, frame):
    with Client(silent_server.socket_path, timeout=2) as client:
        silent_server.accept().sendall(frame)
        with pytest.raises(ProtocolError) as info:
            client.status()
        assert info.value.code == StatusCode.INTERNAL
        with pytest.raises(ClientClosedError):
            client.status()


def test_server_closes_mid_frame(silent_server):
    with Client(silent_server.socket_path, timeout=2) as client:
        peer = silent_server.accept()
        peer.sendall(b"\x00\x00\x00\x09\x08")
        peer.close()
        with pytest.raises(ServerGoneError):
            client.status()


def test_server_killed_mid_session(fresh_server):
    with Client(fresh_server.socket_path) as client:
        client.rank(context=CONTEXT, actions=ACTIONS)
        fresh_server.kill()
        with pytest.raises(ServerGoneError) as info:
            client.rank(context=CONTEXT, actions=ACTIONS)
        assert info.value.code == StatusCode.UNAVAILABLE
        with pytest.raises(ClientClosedError):
            client.status()


def test_server_stopped_with_sigterm(fresh_server):
    with Client(fresh_server.socket_path) as client:
        client.status()
        assert fresh_server.stop() == 0
        with pytest.raises(ServerGoneError):
            client.status()


def test_closed_client(server):
    client = Client(server.socket_path)
    client.close()
    with pytest.raises(ClientClosedError):
        client.status()
