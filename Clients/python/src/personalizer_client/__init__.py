"""Client for Personalizer, a self-hosted contextual-bandit server.

    from personalizer_client import Client, PersonalizerError
    with Client("./data/personalizer.sock") as client:
        result = client.rank(context={"user": {"segment": "sports"}},
                             actions=[{"id": "a", "features": {"item": {"topic": "football"}}},
                                      {"id": "b", "features": {"item": {"topic": "cooking"}}}])
        client.reward(result.event_id, 1.0)

AsyncClient offers the same calls as coroutines and pipelines concurrent calls on one connection.
"""
from ._async_client import AsyncClient
from ._client import Client
from ._errors import (ClientClosedError, ConnectError, DeadlineExceededError, PersonalizerError,
                      ProtocolError, ServerGoneError, StatusCode, TransportError)
from ._results import RankResult, ServerStatus

__all__ = [
    "AsyncClient", "Client", "RankResult", "ServerStatus", "StatusCode",
    "PersonalizerError", "TransportError", "ConnectError", "ServerGoneError",
    "DeadlineExceededError", "ProtocolError", "ClientClosedError",
]
__version__ = "0.1.0"
