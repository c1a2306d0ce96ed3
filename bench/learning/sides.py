"""The two learners of the side-by-side: the live personalizerd (through the Python client over
its socket) and Vowpal Wabbit in-process (the `vowpalwabbit` package from PyPI), fed the same
events with the same arguments.

Decisions. The server samples the action to show from its distribution with a generator seeded
by the event id (MurmurHash64A of the id, then one SplitMix64 draw). `server_uniform` reproduces
that draw in Python, and VW's action is sampled from VW's own distribution with the same draw for
the same event id. Both sides are therefore seeded identically; when their distributions agree
they choose the same action (`run_server` checks the reproduction on every server decision).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from streams import Event, Stream, vw_lines, vw_multiclass_line

MASK64 = (1 << 64) - 1


def server_seed(event_id: str) -> int:
    """personalizerd's Sampling.seed(eventId:): MurmurHash64A with its own seed constant."""
    data = event_id.encode()
    m, r = 0xC6A4A7935BD1E995, 47
    h = (0x5EED5A119E3779B9 ^ ((len(data) * m) & MASK64)) & MASK64
    index = 0
    while len(data) - index >= 8:
        k = int.from_bytes(data[index:index + 8], "little")
        k = (k * m) & MASK64
        k ^= k >> r
        k = (k * m) & MASK64
        h ^= k
        h = (h * m) & MASK64
        index += 8
    if index < len(data):
        h ^= int.from_bytes(data[index:], "little")
        h = (h * m) & MASK64
    h ^= h >> r
    h = (h * m) & MASK64
    h ^= h >> r
    return h


def server_uniform(event_id: str) -> float:
    """personalizerd's Sampling.uniform(seed): SplitMix64's output as a double in [0, 1)."""
    z = (server_seed(event_id) + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    z ^= z >> 31
    return (z >> 11) * 2.0 ** -53


def sample(probabilities, u: float) -> int:
    """personalizerd's Sampling.sample: walk the cumulative distribution in action order."""
    total = 0.0
    last = -1
    for index, p in enumerate(probabilities):
        if p > 0:
            total += p
            last = index
    if last < 0:
        return 0
    target = u * total
    cumulative = 0.0
    for index, p in enumerate(probabilities):
        if p > 0:
            cumulative += p
            if target < cumulative:
                return index
    return last


def event_id(run: str, t: int) -> str:
    return f"{run}-{t}"


@dataclass
class RunResult:
    rewards: np.ndarray          # observed reward per event
    chosen: np.ndarray           # index of the chosen action per event
    expected: np.ndarray         # expected reward of the chosen action per event
    probability: np.ndarray      # probability of the chosen action
    seconds: float
    staleness: np.ndarray | None = None   # server: events learned by the trainer but not yet in the model used


# ----------------------------------------------------------------------------------------------
# Vowpal Wabbit in-process


def run_vw(stream: Stream, arguments: str, run: str, label_probability_one: bool = False) -> RunResult:
    """VW predicts its distribution, samples with the server's draw for the same event id, and
    learns the chosen action's cost. `label_probability_one` writes probability 1 in the labels:
    the diagnostic for SquareCB, whose VW 9.11.9 code sets it to 1 for every action but the last."""
    import vowpalwabbit

    vw = vowpalwabbit.Workspace(arguments + " --quiet")
    n = len(stream.events)
    rewards, expected, probs = np.zeros(n), np.zeros(n), np.zeros(n)
    chosen_actions = np.zeros(n, dtype=int)
    start = time.perf_counter()
    for t, event in enumerate(stream.events):
        pmf = vw.predict(vw_lines(event))
        chosen = sample(pmf, server_uniform(event_id(run, t)))
        reward = event.reward(chosen)
        label_probability = 1.0 if label_probability_one else pmf[chosen]
        vw.learn(vw_lines(event, chosen=chosen, cost=-reward, probability=label_probability))
        rewards[t], expected[t], probs[t] = reward, event.expected[chosen], pmf[chosen]
        chosen_actions[t] = chosen
    seconds = time.perf_counter() - start
    vw.finish()
    return RunResult(rewards, chosen_actions, expected, probs, seconds)


def run_full_information(stream: Stream, arguments: str) -> np.ndarray:
    """Progressive accuracy of VW `--oaa K`, which learns the right class of every event (full
    information): an upper bound for the bandit learners on the supervised streams."""
    import vowpalwabbit

    vw = vowpalwabbit.Workspace(f"--oaa {stream.num_classes} {arguments} --quiet")
    correct = np.zeros(len(stream.events))
    for t, event in enumerate(stream.events):
        line = vw_multiclass_line(event)
        predicted = vw.predict(line) - 1
        correct[t] = 1.0 if predicted == event.label else 0.0
        vw.learn(line)
    vw.finish()
    return correct


# ----------------------------------------------------------------------------------------------
# personalizerd through the Python client


def run_server(stream: Stream, socket_path: str, loop: str, run: str, batch: int) -> RunResult:
    """Ranks and rewards every event in order, `batch` events at a time: it ranks a batch, sends
    its rewards, then waits until the trainer has learned them all and published a model with
    them (see `_catch_up`). So every Rank of batch j uses the model learned from exactly the events
    of the batches before j: at most `batch` - 1 events behind VW (0 with batch 1)."""
    from personalizer_client import Client

    n = len(stream.events)
    rewards, expected, probs = np.zeros(n), np.zeros(n), np.zeros(n)
    chosen_actions = np.zeros(n, dtype=int)
    staleness = np.zeros(n)
    mismatches = 0
    late_publications = 0
    with Client(socket_path, loop=loop, timeout=30.0) as client:
        version = client.status().model_version
        start = time.perf_counter()
        for first in range(0, n, batch):
            pending = []
            for t in range(first, min(first + batch, n)):
                event = stream.events[t]
                eid = event_id(run, t)
                result = client.rank(context=event.context, actions=event.actions, event_id=eid)
                index = {a["id"]: i for i, a in enumerate(event.actions)}
                chosen = index[result.reward_action_id]
                distribution = [0.0] * len(event.actions)
                for action_id, p in result.ranking:
                    distribution[index[action_id]] = p
                if sample(distribution, server_uniform(eid)) != chosen:
                    mismatches += 1
                if result.model_version != version:
                    if batch == 1:
                        raise RuntimeError(f"event {t} was ranked with model version {result.model_version}, "
                                           f"expected {version}")
                    late_publications += 1   # the catch-up before this batch gave up waiting too soon
                    version = result.model_version
                reward = event.reward(chosen)
                rewards[t], expected[t], probs[t] = reward, event.expected[chosen], distribution[chosen]
                chosen_actions[t] = chosen
                staleness[t] = t - first
                pending.append((eid, reward))
            for eid, reward in pending:
                client.reward(eid, reward)
            version = _catch_up(client, first + len(pending), version, exact=batch == 1)
        seconds = time.perf_counter() - start
    if mismatches:
        raise RuntimeError(f"{mismatches} of {n} server decisions differ from the sampling reproduced "
                           f"in Python: VW would not be seeded like the server")
    result = RunResult(rewards, chosen_actions, expected, probs, seconds, staleness)
    result.late_publications = late_publications
    return result


def _catch_up(client, rewarded: int, version: int, exact: bool) -> int:
    """Waits until the trainer has learned `rewarded` events and published a model with all of
    them; `version` is the model version that had every earlier event. Returns the new version.

    The trainer publishes (version + 1) after a pass that learned something, so:
    - one event (exact): it is learned in one pass, and the next version is the one with it;
    - a batch may be learned over several passes, each followed by a publication. Once Status
      shows every event learned, either the version read with it already has them all or one
      more comes. When the version has not moved since the batch began, one must come; otherwise
      we wait for it at most 20 ms (more than the trainer's 1 ms pass, with room for a busy CPU).
    """
    deadline = time.monotonic() + 30.0
    status = client.status()
    while status.learned_events < rewarded or (exact and status.model_version == version):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the trainer learned {status.learned_events} of {rewarded} events "
                               f"and published version {status.model_version} in 30 s")
        time.sleep(0.0001)
        status = client.status()
    if exact:
        return status.model_version
    seen = status.model_version
    limit = deadline if seen == version else time.monotonic() + 0.02
    while time.monotonic() < limit:
        time.sleep(0.0002)
        status = client.status()
        if status.model_version != seen:
            return status.model_version
    if seen == version:
        raise RuntimeError(f"no model was published in 30 s after learning {rewarded} events")
    return seen
