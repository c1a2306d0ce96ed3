"""Every call of the blocking client against a live personalizerd."""
import math
import time

import pytest

from _samples import ACTIONS, CONTEXT
from personalizer_client import Client, RankResult, ServerStatus


def test_rank(client):
    result = client.rank(context=CONTEXT, actions=ACTIONS)
    assert isinstance(result, RankResult)
    assert result.event_id
    assert sorted(a for a, _ in result.ranking) == ["article-1", "article-2", "article-3"]
    assert result.reward_action_id == result.ranking[0][0]
    assert math.isclose(sum(p for _, p in result.ranking), 1.0)


def test_rank_signature_from_the_readme(client, unique):
    event_id = unique("py-readme")
    result = client.rank(
        context={"user": {"segment": "sports", "age": 31.0}},
        actions=[{"id": "article-1", "features": {"item": {"topic": "football", "length": 420.0}}},
                 {"id": "article-2", "features": {"item": {"topic": "cooking"}}}],
        excluded=[], event_id=event_id, defer_activation=False)
    assert result.event_id == event_id
    assert [a for a, _ in result.ranking] in (["article-1", "article-2"], ["article-2", "article-1"])
    client.reward(result.event_id, 1.0)


def test_excluded_actions_rank_last_with_zero(client):
    result = client.rank(context=CONTEXT, actions=ACTIONS, excluded=["article-1"])
    assert result.ranking[-1] == ("article-1", 0.0)
    assert result.reward_action_id != "article-1"


def test_actions_without_features_and_no_context(client):
    result = client.rank(actions=[{"id": "x"}, {"id": "y"}])
    assert {a for a, _ in result.ranking} == {"x", "y"}


def test_feature_value_types(client):
    result = client.rank(context={"u": {"flag": True, "n": 3, "x": 0.5, "s": "text"}},
                         actions=[{"id": "a", "features": {"i": {"b": False}}}, {"id": "b"}])
    assert result.reward_action_id in ("a", "b")


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, b"bytes", 1j])
def test_unsupported_feature_type_names_the_feature(client, value):
    with pytest.raises(TypeError, match=r"user\.bad"):
        client.rank(context={"user": {"ok": 1.0, "bad": value}}, actions=ACTIONS)


def test_malformed_actions_raise_type_error(client):
    with pytest.raises(TypeError, match="action 0"):
        client.rank(context=CONTEXT, actions=[{"features": {}}])
    with pytest.raises(TypeError, match="namespace 'item'"):
        client.rank(actions=[{"id": "a", "features": {"item": 3}}])


def test_reward_activate_and_status_counters(server):
    with Client(server.socket_path, loop="slow") as client:
        before = client.status()
        result = client.rank(context=CONTEXT, actions=ACTIONS, defer_activation=True)
        client.activate(result.event_id)
        client.reward(result.event_id, 1.0)
        client.reward("no-such-event", 0.5)     # counted, not an error
        client.activate("no-such-event")
        after = client.status()
    assert isinstance(after, ServerStatus)
    assert after.rank_calls == before.rank_calls + 1
    assert after.reward_calls == before.reward_calls + 2
    assert after.activate_calls == before.activate_calls + 2
    assert after.pending_events >= 1


def test_learning_publishes_new_models(client):
    learned_before = client.status().learned_events
    for _ in range(20):
        result = client.rank(context=CONTEXT, actions=ACTIONS)
        client.reward(result.event_id, 1.0 if result.reward_action_id == "article-1" else 0.0)
    deadline = time.monotonic() + 15
    status = client.status()
    while status.learned_events < learned_before + 20 and time.monotonic() < deadline:
        time.sleep(0.05)
        status = client.status()
    assert status.learned_events >= learned_before + 20
    assert status.model_version >= 1
    assert client.rank(context=CONTEXT, actions=ACTIONS).model_version >= 1
