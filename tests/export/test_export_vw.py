"""Exported events are read and learned from by Vowpal Wabbit itself.

Starts the real `personalizerd`, ranks and rewards a stream through the Python client, exports
the loop with `personalizer export`, and feeds every line to Vowpal Wabbit (`--dsjson
--cb_explore_adf`): each line must parse, every event that was learned must be learned by VW
too, and VW's model must end up preferring the rewarded action.
"""
import json
import os
import signal
import subprocess
import tempfile
import time

import pytest
import vowpalwabbit
from personalizer_client import Client

BIN = os.environ.get("PERSONALIZER_BIN", os.path.join(os.path.dirname(__file__), "../../.build/debug"))


@pytest.fixture
def server():
    with tempfile.TemporaryDirectory() as directory:
        config = os.path.join(directory, "config.json")
        with open(config, "w") as f:
            json.dump({"loops": {"default": {"rewardWaitTimeSeconds": 0.2, "modelUpdateIntervalSeconds": 0.05}}}, f)
        socket_path = os.path.join(directory, "s.sock")
        data = os.path.join(directory, "data")
        process = subprocess.Popen(
            [os.path.join(BIN, "personalizerd"), "--socket", socket_path, "--data-dir", data, "--config", config],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while not os.path.exists(socket_path):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.time() < deadline, "personalizerd did not start"
            time.sleep(0.02)
        try:
            yield socket_path, data
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0


def best_action(segment):
    return f"article-{segment % 3}"


def test_vowpal_wabbit_learns_from_every_exported_line(server):
    socket_path, data = server
    events = 300
    deferred_never_activated = 0
    with Client(socket_path, timeout=5.0) as client:
        for index in range(events):
            segment = index % 3
            deferred = index % 25 == 24
            deferred_never_activated += deferred
            result = client.rank(
                context={"user": {"segment": f"s{segment}", "visits": float(index % 7)}},
                actions=[{"id": f"article-{k}", "features": {"item": {"topic": f"t{k}"}}} for k in range(3)],
                event_id=f"event-{index}", defer_activation=deferred)
            client.reward(result.event_id, 1.0 if result.reward_action_id == best_action(segment) else 0.0)
        deadline = time.time() + 10
        while client.status().pending_events > 0:
            assert time.time() < deadline
            time.sleep(0.05)
    time.sleep(0.2)  # the trainer writes its last outcome records within a pass

    exported = subprocess.run(
        [os.path.join(BIN, "personalizer"), "export", "--data-dir", data, "--loop", "default"],
        check=True, capture_output=True, text=True)
    lines = exported.stdout.splitlines()
    assert len(lines) == events
    skipped = sum(1 for line in lines if json.loads(line).get("_skipLearn"))
    assert skipped == deferred_never_activated

    vw = vowpalwabbit.Workspace("--cb_explore_adf --dsjson --quiet -q ui --epsilon 0.2")
    learned = 0
    for line in lines:
        examples = vw.parse(line)
        assert examples, f"VW could not parse: {line[:200]}"
        vw.learn(examples)
        vw.finish_example(examples)
        learned += 1
    assert learned == events
    assert vw.get_weighted_examples() == events, "VW took every line as an example"

    # VW, trained only on the export, prefers the rewarded action for each segment.
    for segment in range(3):
        probe = {"EventId": f"probe-{segment}", "a": [1, 2, 3], "p": [1 / 3] * 3,
                 "c": {"user": {"segment": f"s{segment}", "visits": 1.0},
                       "_multi": [{"_id": f"article-{k}", "item": {"topic": f"t{k}"}} for k in range(3)]}}
        examples = vw.parse(json.dumps(probe))
        probabilities = vw.predict(examples)
        vw.finish_example(examples)
        assert max(range(3), key=lambda k: probabilities[k]) == segment % 3, (segment, probabilities)
    vw.finish()
