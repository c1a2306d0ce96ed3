"""The asyncio client: pipelining on one connection and its failure modes."""
import asyncio
import math
import time

import pytest

from _samples import ACTIONS, CONTEXT
from personalizer_client import (AsyncClient, ClientClosedError, ConnectError,
                                 DeadlineExceededError, PersonalizerError, ServerGoneError,
                                 StatusCode)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_every_call(server):
    async def go():
        async with AsyncClient(server.socket_path, loop="slow") as client:
            before = await client.status()
            result = await client.rank(context=CONTEXT, actions=ACTIONS, defer_activation=True)
            await client.activate(result.event_id)
            await client.reward(result.event_id, 1.0)
            after = await client.status()
            return result, before, after
    result, before, after = run(go())
    assert result.reward_action_id == result.ranking[0][0]
    assert after.rank_calls == before.rank_calls + 1
    assert after.reward_calls == before.reward_calls + 1
    assert after.activate_calls == before.activate_calls + 1


def test_pipelining_many_calls(server):
    async def go():
        async with AsyncClient(server.socket_path) as client:
            calls = []
            for i in range(600):
                if i % 3 == 0:
                    calls.append(client.status())
                elif i % 10 == 1:
                    calls.append(client.rank(context=CONTEXT, actions=[]))   # refused
                else:
                    calls.append(client.rank(context=CONTEXT, actions=ACTIONS, event_id=f"pipe-{time.time_ns()}-{i}"))
            return await asyncio.gather(*calls, return_exceptions=True)
    results = run(go())
    for i, r in enumerate(results):
        if i % 3 == 0:
            assert r.rank_calls >= 0
        elif i % 10 == 1:
            assert isinstance(r, PersonalizerError) and r.code == StatusCode.INVALID_ARGUMENT
        else:
            assert r.event_id.endswith(f"-{i}") and math.isclose(sum(p for _, p in r.ranking), 1.0)


def test_server_errors(server):
    async def go():
        async with AsyncClient(server.socket_path, loop="no-such-loop") as client:
            with pytest.raises(PersonalizerError) as info:
                await client.status()
            return info.value
    assert run(go()).code == StatusCode.NOT_FOUND


def test_connection_refused(tmp_path):
    async def go():
        await AsyncClient(str(tmp_path / "missing.sock")).connect()
    with pytest.raises(ConnectError):
        run(go())


def test_timeout_leaves_other_calls_working(silent_server):
    async def go():
        async with AsyncClient(silent_server.socket_path, timeout=0.2) as client:
            silent_server.accept()
            with pytest.raises(DeadlineExceededError):
                await client.status()
            with pytest.raises(DeadlineExceededError):
                await asyncio.gather(client.status(), client.status())
    run(go())


def test_server_killed_fails_every_call_in_flight(fresh_server):
    async def go():
        async with AsyncClient(fresh_server.socket_path, timeout=10) as client:
            await client.status()
            fresh_server.kill()
            results = await asyncio.gather(*(client.status() for _ in range(20)),
                                           return_exceptions=True)
            with pytest.raises(ClientClosedError):
                await client.status()
            return results
    results = run(go())
    assert results and all(isinstance(r, (ServerGoneError, ClientClosedError)) for r in results)
    assert any(isinstance(r, ServerGoneError) for r in results)


def test_closed_client(server):
    async def go():
        client = await AsyncClient(server.socket_path).connect()
        await client.close()
        with pytest.raises(ClientClosedError):
            await client.status()
    run(go())
