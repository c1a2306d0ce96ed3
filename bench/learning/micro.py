"""The learner micro-benchmark: PersonalizerModel's learn and predict rates next to Vowpal Wabbit's
in-process rates, on the same examples with the same arguments.

    .venv/bin/python bench/learning/micro.py [--quick] [--learner .build/release/personalizer-bench-learner]

The examples (10 actions, 20 context features, 5 features per action, a random chosen action with
its probability and a 0/-1 cost) are written once as VW text; the Swift executable and VW both
read that file and parse it before any timing. Rates are events per second, median of the rounds
(the rounds alternate between the two learners):
- learn: a fresh learner learns every example in order (VW: `learn` on pre-parsed examples);
- predict: every action scored, explored and one sampled, with the trained model (VW: `predict`);
- cycle: predict with the current weights, then learn, event after event (what VW does per event
  in the learning benchmark; ours: the learner's own predictions, no snapshot).
VW runs in this Python process through its Python API (one call per event, about a microsecond
of overhead per call); its parsing is not timed.
Writes bench/results/learner-throughput.json (quick: bench/build/learning-quick/).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

POLICY = "--cb_explore_adf --epsilon 0.2 --power_t 0 -l 0.5 --cb_type mtr -q ::"
ACTIONS, CONTEXT_TEXT, CONTEXT_NUMBERS, ACTION_TEXT, ACTION_NUMBERS = 10, 12, 8, 3, 2


def make_examples(count: int, seed: int = 7) -> list:
    """Multiline VW examples (lists of lines), deterministic."""
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(count):
        shared = ["shared |User"]
        shared += [f"c{j}=v{rng.integers(0, 20)}" for j in range(CONTEXT_TEXT)]
        shared += [f"n{j}:{rng.uniform(0.05, 3.0):.4f}" for j in range(CONTEXT_NUMBERS)]
        chosen = int(rng.integers(0, ACTIONS))
        probability = 0.82 if chosen == 0 else 0.02
        cost = -1.0 if rng.random() < 0.3 else 0.0
        lines = [" ".join(shared)]
        for a in range(ACTIONS):
            item = int(rng.integers(0, 200))
            tokens = ["|Article", f"id=i{item}"] + [f"t{j}=w{rng.integers(0, 12)}" for j in range(ACTION_TEXT - 1)]
            tokens += [f"m{j}:{rng.uniform(0.1, 2.0):.4f}" for j in range(ACTION_NUMBERS)]
            line = " ".join(tokens)
            if a == chosen:
                line = f"0:{cost}:{probability} " + line
            lines.append(line)
        examples.append(lines)
    return examples


def _unlabeled(lines: list) -> list:
    return [line.split(" ", 1)[1] if line[0].isdigit() else line for line in lines]


def _timed(vw, examples: list, step) -> float:
    """Seconds spent in `step(parsed...)` over all examples, parsing and finishing a chunk of
    examples at a time outside the timing (VW's parser is slow, and thousands of parsed
    examples held at once would cost VW cache misses it does not have when streaming)."""
    total = 0.0
    for first in range(0, len(examples), 50):
        chunk = examples[first:first + 50]
        labeled = [vw.parse(lines) for lines in chunk]
        unlabeled = [vw.parse(_unlabeled(lines)) for lines in chunk]
        start = time.perf_counter()
        for plain, ex in zip(unlabeled, labeled):
            step(plain, ex)
        total += time.perf_counter() - start
        for ex in labeled + unlabeled:
            vw.finish_example(ex)
    return total


def vw_rates(examples: list, rounds: int) -> dict:
    import vowpalwabbit

    learn, predict, cycle = [], [], []
    n = len(examples)
    for _ in range(rounds):
        vw = vowpalwabbit.Workspace(POLICY + " --quiet")
        learn.append(n / _timed(vw, examples, lambda plain, ex: vw.learn(ex)))
        predict.append(n / _timed(vw, examples, lambda plain, ex: vw.predict(plain)))
        vw.finish()
        vw = vowpalwabbit.Workspace(POLICY + " --quiet")
        cycle.append(n / _timed(vw, examples, lambda plain, ex: (vw.predict(plain), vw.learn(ex))))
        vw.finish()
    return {"learn_events_per_second": [round(x) for x in learn],
            "predict_events_per_second": [round(x) for x in predict],
            "cycle_events_per_second": [round(x) for x in cycle],
            "learn_median": round(statistics.median(learn)), "predict_median": round(statistics.median(predict)),
            "cycle_median": round(statistics.median(cycle))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--learner", default=os.path.join(ROOT, ".build/release/personalizer-bench-learner"))
    parser.add_argument("--examples", type=int, help="events per round (default 5000, quick 2000)")
    parser.add_argument("--rounds", type=int, help="rounds (default 7, quick 3)")
    parser.add_argument("--out", help="output folder (default bench/results, quick: bench/build/learning-quick)")
    args = parser.parse_args()
    count = args.examples or (2000 if args.quick else 5000)
    rounds = args.rounds or (3 if args.quick else 7)
    out = args.out or os.path.join(ROOT, "bench/build/learning-quick" if args.quick else "bench/results")
    os.makedirs(out, exist_ok=True)
    if not os.access(args.learner, os.X_OK):
        print(f"micro: no learner binary at {args.learner} (swift build -c release)", file=sys.stderr)
        return 2

    examples = make_examples(count)
    with tempfile.NamedTemporaryFile("w", suffix=".vw", delete=False) as f:
        for lines in examples:
            f.write("\n".join(lines) + "\n\n")
        path = f.name
    # Rounds alternate between the two learners, so both see the same machine (load from other
    # processes comes and goes); each round of ours is a fresh process of the Swift executable.
    ours_rounds, vw_rounds = [], []
    try:
        for _ in range(rounds):
            ours_rounds.append(json.loads(subprocess.run(
                [args.learner, "throughput", "--examples", path, "--policy", POLICY, "--rounds", "1", "--json"],
                check=True, capture_output=True, text=True).stdout))
            vw_rounds.append(vw_rates(examples, 1))
    finally:
        os.unlink(path)
    ours, vw = {}, {}
    for kind in ("learn", "predict", "cycle"):
        ours[f"{kind}_events_per_second"] = [r[f"{kind}_median"] for r in ours_rounds]
        vw[f"{kind}_events_per_second"] = [r[f"{kind}_median"] for r in vw_rounds]
        ours[f"{kind}_median"] = round(statistics.median(ours[f"{kind}_events_per_second"]))
        vw[f"{kind}_median"] = round(statistics.median(vw[f"{kind}_events_per_second"]))

    from importlib.metadata import version
    features_per_action = (1 + CONTEXT_TEXT + CONTEXT_NUMBERS + ACTION_TEXT + ACTION_NUMBERS
                           + (CONTEXT_TEXT + CONTEXT_NUMBERS) * (CONTEXT_TEXT + CONTEXT_NUMBERS + 1) // 2
                           + (CONTEXT_TEXT + CONTEXT_NUMBERS) * (ACTION_TEXT + ACTION_NUMBERS)
                           + (ACTION_TEXT + ACTION_NUMBERS) * (ACTION_TEXT + ACTION_NUMBERS + 1) // 2)
    report = {
        "command": "make bench-learner" + (" QUICK=1" if args.quick else ""),
        "policy": POLICY,
        "examples": count, "rounds": rounds, "actions": ACTIONS,
        "context_features": CONTEXT_TEXT + CONTEXT_NUMBERS, "action_features": ACTION_TEXT + ACTION_NUMBERS,
        "features_per_action_with_interactions": features_per_action,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "vowpalwabbit": version("vowpalwabbit") + " (Python API, in-process, parsing not timed)",
        "ours": ours,
        "vw": vw,
        "ratio_ours_to_vw": {kind: round(ours[f"{kind}_median"] / vw[f"{kind}_median"], 2)
                             for kind in ("learn", "predict", "cycle")},
        "ratio_per_round_median": {kind: round(statistics.median(
            o / v for o, v in zip(ours[f"{kind}_events_per_second"], vw[f"{kind}_events_per_second"])), 2)
            for kind in ("learn", "predict", "cycle")},
    }
    with open(os.path.join(out, "learner-throughput.json"), "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(f"learner micro-benchmark: {count} events x {rounds} rounds, {ACTIONS} actions, "
          f"{report['context_features']} context and {report['action_features']} action features, {POLICY}")
    print("| rate (events/s, median) | personalizerd learner | Vowpal Wabbit | ratio |")
    print("|---|---|---|---|")
    for kind, label in (("learn", "learn"), ("predict", "predict (rank)"), ("cycle", "predict + learn")):
        print(f"| {label} | {ours[kind + '_median']:,.0f} | {vw[kind + '_median']:,.0f} | "
              f"{report['ratio_ours_to_vw'][kind]:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
