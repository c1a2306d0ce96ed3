"""The learning benchmark: every stream through the live personalizerd and through Vowpal Wabbit,
side by side, for each exploration policy and several seeds.

    .venv/bin/python bench/learning/bench.py [--quick] [--server .build/release/personalizerd]

Writes bench/results/learning.json, bench/results/learning-table.md and one learning-curve PNG
per stream (bench/results/learning-<stream>.png); with --quick, the same under
bench/build/learning-quick/ (not committed). Prints each check of issue 4 as PASS or FAIL; with
--strict it exits 1 when one fails (after writing everything).
"""
from __future__ import annotations

import argparse
import datetime
import functools
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import sides     # noqa: E402
import streams   # noqa: E402

# Arguments both learners get: the cost estimator and learning rate shared by every policy, then
# the policy's exploration, then the stream's interactions.
BASE_ARGUMENTS = "--cb_explore_adf --cb_type mtr -l 2"
POLICIES = {
    "egreedy-0.2": "--epsilon 0.2 --first_only",
    "egreedy-0.05": "--epsilon 0.05 --first_only",
    "softmax": "--softmax --lambda 30",
    "squarecb": "--squarecb",
}
POLICY_LABELS = {"egreedy-0.2": "ε-greedy 0.2", "egreedy-0.05": "ε-greedy 0.05",
                 "softmax": "softmax λ=30", "squarecb": "SquareCB"}
# The loop settings of the bench: learn at the first reward, publish at every trainer pass.
LOOP_SETTINGS = {"rewardWaitTimeSeconds": 30, "modelUpdateIntervalSeconds": 0.0005,
                 "learnOnFirstReward": True}
TOLERANCE = 0.01
# The staleness study: the server ranking `batch` events before their rewards are learned.
STALENESS_STREAMS = ("digits", "news")
STALENESS_POLICIES = ("egreedy-0.05", "squarecb")
STALENESS_BATCHES = (10, 50)


def arguments(stream: streams.Stream, policy: str) -> str:
    return f"{BASE_ARGUMENTS} {POLICIES[policy]} {stream.interactions}"


@functools.lru_cache(maxsize=4)
def stream_for(name: str, seed: int, quick: bool) -> streams.Stream:
    return streams.build(name, seed, quick=quick)


def run_id(stream: str, policy: str, seed: int) -> str:
    # Both learners use the same event ids, so the same per-event uniform draws.
    return f"{stream}-{policy}-s{seed}"


def _die_with_parent() -> None:
    """In the server's child process: SIGTERM it when the worker that started it dies (Linux)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Server:
    """A personalizerd of its own, on a fresh data directory, with one loop `bench`."""

    def __init__(self, binary: str, policy_arguments: str):
        self.directory = tempfile.mkdtemp(prefix="pz-bench-")
        self.socket = os.path.join(self.directory, "s.sock")
        config = os.path.join(self.directory, "config.json")
        with open(config, "w") as f:
            json.dump({"loops": {"bench": dict(LOOP_SETTINGS, learningPolicy=policy_arguments)}}, f)
        self.process = subprocess.Popen(
            [binary, "--socket", self.socket, "--data-dir", os.path.join(self.directory, "data"),
             "--config", config],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=_die_with_parent)
        line = self.process.stdout.readline()
        if "listening" not in line:
            self.process.kill()
            rest = self.process.stdout.read()
            raise RuntimeError(f"personalizerd did not start: {line}{rest}")

    def close(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)
        if code != 0:
            raise RuntimeError(f"personalizerd exited with {code}")


def run_job(job: tuple) -> tuple:
    """One run in a worker process: ("server"|"vw"|"vw_p1", stream, policy, seed, batch) or
    ("oaa", stream, None, seed, 0). Returns the job and its per-event arrays."""
    kind, name, policy, seed, batch, quick, binary = job
    stream = stream_for(name, seed, quick)
    if kind == "oaa":
        correct = sides.run_full_information(stream, "-l 2")
        return job, {"rewards": correct}
    if kind in ("vw", "vw_p1"):
        result = sides.run_vw(stream, arguments(stream, policy), run_id(name, policy, seed),
                              label_probability_one=kind == "vw_p1")
    else:
        server = Server(binary, arguments(stream, policy))
        try:
            result = sides.run_server(stream, server.socket, "bench", run_id(name, policy, seed), batch)
        finally:
            server.close()
    return job, {"rewards": result.rewards, "chosen": result.chosen, "expected": result.expected,
                 "seconds": result.seconds, "optimal": stream.optimal,
                 "late_publications": getattr(result, "late_publications", 0)}


# ----------------------------------------------------------------------------------------------
# Summaries


def last(values: np.ndarray, share: float = 0.2) -> np.ndarray:
    return values[len(values) - int(round(len(values) * share)):]


def spread(values: list) -> dict:
    array = np.asarray(values, dtype=float)
    return {"mean": round(float(array.mean()), 4),
            "spread": round(float(array.std(ddof=1)) if len(array) > 1 else 0.0, 4),
            "seeds": [round(float(v), 4) for v in array]}


def summarize(runs: list) -> dict:
    """Averages of one learner's runs (one per seed)."""
    out = {"last20": spread([last(r["rewards"]).mean() for r in runs]),
           "whole": spread([r["rewards"].mean() for r in runs])}
    if "expected" in runs[0]:
        out["expected_last20"] = spread([last(r["expected"]).mean() for r in runs])
        out["expected_whole"] = spread([r["expected"].mean() for r in runs])
        out["regret_last20"] = spread([(last(r["optimal"]) - last(r["expected"])).mean() for r in runs])
        out["regret_whole"] = spread([(r["optimal"] - r["expected"]).mean() for r in runs])
        out["events_per_second"] = round(float(np.mean([len(r["rewards"]) / r["seconds"] for r in runs])), 1)
    return out


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(1, len(values) + 1)
    start = np.maximum(0, index - window)
    return (cumulative[index] - cumulative[start]) / (index - start)


def curve_points(n: int, points: int = 200) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, points).round().astype(int))


def fmt(stat: dict) -> str:
    return f"{stat['mean']:.3f} ± {stat['spread']:.3f}"


# ----------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short streams, 2 seeds, no staleness study")
    parser.add_argument("--seeds", type=int, help="seeds per stream and policy (default 3, quick 2)")
    parser.add_argument("--streams", nargs="+", choices=list(streams.STREAMS), default=list(streams.STREAMS))
    parser.add_argument("--policies", nargs="+", choices=list(POLICIES), default=list(POLICIES))
    parser.add_argument("--batch", type=int, default=1,
                        help="server side: events ranked before waiting for their rewards to be learned (default 1)")
    parser.add_argument("--no-staleness", action="store_true", help="skip the staleness study")
    parser.add_argument("--server", default=os.path.join(ROOT, ".build/release/personalizerd"))
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--out", help="output folder (default bench/results, quick: bench/build/learning-quick)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a check fails")
    args = parser.parse_args()

    seeds = list(range(args.seeds or (2 if args.quick else 3)))
    out = args.out or os.path.join(ROOT, "bench/build/learning-quick" if args.quick else "bench/results")
    os.makedirs(out, exist_ok=True)
    if not os.access(args.server, os.X_OK):
        print(f"bench: no server binary at {args.server} (swift build -c release)", file=sys.stderr)
        return 2
    staleness = not (args.quick or args.no_staleness)

    jobs = []
    for name in args.streams:
        for seed in seeds:
            for policy in args.policies:
                jobs.append(("server", name, policy, seed, args.batch, args.quick, args.server))
                jobs.append(("vw", name, policy, seed, 1, args.quick, args.server))
                if policy == "squarecb":
                    jobs.append(("vw_p1", name, policy, seed, 1, args.quick, args.server))
            if name in streams.SUPERVISED:
                jobs.append(("oaa", name, None, seed, 0, args.quick, args.server))
            if staleness and name in STALENESS_STREAMS:
                for policy in STALENESS_POLICIES:
                    if policy in args.policies:
                        for batch in STALENESS_BATCHES:
                            jobs.append(("server", name, policy, seed, batch, args.quick, args.server))
    # Longest streams first, and jobs of one stream and seed together (workers cache streams).
    jobs.sort(key=lambda j: (-streams.STREAMS[j[1]][2 if args.quick else 1], j[1], j[3]))

    print(f"bench: {len(jobs)} runs on {args.workers} workers, seeds {seeds}, server batch {args.batch}, "
          f"{'quick' if args.quick else 'full'} streams", flush=True)
    started = time.monotonic()
    results = {}
    with multiprocessing.get_context("fork").Pool(args.workers, maxtasksperchild=8) as pool:
        for done, (job, arrays) in enumerate(pool.imap_unordered(run_job, jobs), 1):
            results[job[:5]] = arrays
            kind, name, policy, seed, batch = job[:5]
            label = f"{kind}{'' if kind != 'server' else f'(batch {batch})'} {name} {policy or ''} seed {seed}"
            print(f"  [{done:3d}/{len(jobs)}] {time.monotonic() - started:6.0f}s  {label}: "
                  f"average reward {arrays['rewards'].mean():.3f}", flush=True)
    elapsed = time.monotonic() - started

    report = build_report(args, seeds, results, staleness, elapsed)
    write_outputs(report, results, args, seeds, out)
    failed = [c for c in report["checks"] if not c["pass"]]
    print(f"bench: {len(report['checks']) - len(failed)} of {len(report['checks'])} checks pass "
          f"({elapsed:.0f} s); results in {os.path.relpath(out, ROOT)}/")
    for check in failed:
        print(f"bench: FAIL {check['check']} (difference {check['difference']:+.4f}; bench/learning/README.md says why)")
    return 1 if failed and args.strict else 0


def build_report(args, seeds, results, staleness, elapsed) -> dict:
    import vowpalwabbit  # noqa: F401  (version only)
    from importlib.metadata import version

    report = {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "make bench-learning" + (" QUICK=1" if args.quick else ""),
        "quick": args.quick,
        "seeds": seeds,
        "server_batch": args.batch,
        "seconds": round(elapsed, 1),
        "server": {"binary": os.path.relpath(args.server, ROOT), "commit": git_commit(),
                   "loop_settings": LOOP_SETTINGS},
        "vowpalwabbit": version("vowpalwabbit"),
        "base_arguments": BASE_ARGUMENTS,
        "policies": POLICIES,
        "tolerance": TOLERANCE,
        "spread": "sample standard deviation over seeds",
        "streams": {},
        "checks": [],
    }
    for name in args.streams:
        stream = stream_for(name, 0, args.quick)
        entry = {"description": stream.description, "events": len(stream.events),
                 "actions": len(stream.events[0].actions), "interactions": stream.interactions,
                 "policies": {}}
        if name in streams.SUPERVISED:
            entry["reference"] = {"name": f"full information: VW --oaa {stream.num_classes} -l 2",
                                  **summarize([results[("oaa", name, None, s, 0)] for s in seeds])}
        else:
            optimal = [{"rewards": stream_for(name, s, args.quick).optimal} for s in seeds]
            entry["reference"] = {"name": "optimal policy (expected reward)", **summarize(optimal)}
        for policy in args.policies:
            ours_runs = [results[("server", name, policy, s, args.batch)] for s in seeds]
            vw_runs = [results[("vw", name, policy, s, 1)] for s in seeds]
            ours, vw = summarize(ours_runs), summarize(vw_runs)
            difference = round(ours["last20"]["mean"] - vw["last20"]["mean"], 4)
            same = [float(np.mean(o["chosen"] == v["chosen"])) for o, v in zip(ours_runs, vw_runs)]
            entry["policies"][policy] = {"arguments": arguments(stream, policy), "ours": ours, "vw": vw,
                                         "difference_last20": difference, "same_choice": spread(same)}
            if policy == "squarecb":
                p1_runs = [results[("vw_p1", name, policy, s, 1)] for s in seeds]
                same_p1 = [float(np.mean(o["chosen"] == v["chosen"])) for o, v in zip(ours_runs, p1_runs)]
                entry["policies"][policy]["vw_label_probability_1"] = {
                    "what": "VW given probability 1 in every label, as its SquareCB sets for all actions "
                            "but the last (our learner does it for all): isolates that one difference",
                    **summarize(p1_runs), "same_choice_with_ours": spread(same_p1)}
            report["checks"].append({
                "check": f"{name} {policy}: ours last-20% >= VW's - {TOLERANCE}",
                "ours": ours["last20"]["mean"], "vw": vw["last20"]["mean"], "difference": difference,
                "pass": difference >= -TOLERANCE})
        report["streams"][name] = entry
    for name in args.streams:
        if name in streams.SUPERVISED:
            continue
        policies = report["streams"][name]["policies"]
        if "squarecb" in policies:
            for eg in ("egreedy-0.2", "egreedy-0.05"):
                if eg in policies:
                    a, b = policies["squarecb"]["ours"]["last20"]["mean"], policies[eg]["ours"]["last20"]["mean"]
                    report["checks"].append({"check": f"{name}: ours SquareCB beats {eg} (last 20%)",
                                             "ours": a, "vw": None, "difference": round(a - b, 4),
                                             "pass": a > b})
    if staleness:
        study = {}
        for name in STALENESS_STREAMS:
            if name not in args.streams:
                continue
            for policy in STALENESS_POLICIES:
                if policy not in args.policies:
                    continue
                row = {}
                for batch in (args.batch,) + STALENESS_BATCHES:
                    s = summarize([results[("server", name, policy, seed, batch)] for seed in seeds])
                    runs = [results[("server", name, policy, seed, batch)] for seed in seeds]
                    row[f"batch {batch}"] = {"last20": s["last20"], "whole": s["whole"],
                                             "late_publications": int(sum(r["late_publications"] for r in runs))}
                study[f"{name} {policy}"] = row
        report["staleness"] = {
            "what": "server side only: a batch of events is ranked before any of their rewards is learned, "
                    "so the model lags VW's by up to batch - 1 events",
            "results": study}
    return report


def git_commit() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "Sources"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
        return commit + (" (Sources modified)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(report: dict) -> str:
    lines = ["| stream (interactions) | policy | ours last 20% | VW last 20% | Δ | ours whole | VW whole | same choice | reference last 20% |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, entry in report["streams"].items():
        reference = entry["reference"]
        for policy, row in entry["policies"].items():
            mark = "" if row["difference_last20"] >= -TOLERANCE else " ✗"
            lines.append(
                f"| {name} ({entry['interactions']}) | {POLICY_LABELS[policy]} | {fmt(row['ours']['last20'])} | "
                f"{fmt(row['vw']['last20'])} | {row['difference_last20']:+.3f}{mark} | {fmt(row['ours']['whole'])} | "
                f"{fmt(row['vw']['whole'])} | {100 * row['same_choice']['mean']:.0f}% | {reference['last20']['mean']:.3f} |")
    return "\n".join(lines)


def regret_table(report: dict) -> str:
    lines = ["| stream | policy | ours regret last 20% | VW regret last 20% | ours regret whole | VW regret whole |",
             "|---|---|---|---|---|---|"]
    for name, entry in report["streams"].items():
        if name in streams.SUPERVISED:
            continue
        for policy, row in entry["policies"].items():
            lines.append(f"| {name} | {POLICY_LABELS[policy]} | {fmt(row['ours']['regret_last20'])} | "
                         f"{fmt(row['vw']['regret_last20'])} | {fmt(row['ours']['regret_whole'])} | "
                         f"{fmt(row['vw']['regret_whole'])} |")
    return "\n".join(lines)


def squarecb_table(report: dict) -> str:
    lines = ["| stream | ours last 20% | VW last 20% | VW with p = 1 labels, last 20% | same choice ours/VW | same choice ours/VW p = 1 |",
             "|---|---|---|---|---|---|"]
    for name, entry in report["streams"].items():
        row = entry["policies"].get("squarecb")
        if row is None:
            continue
        p1 = row["vw_label_probability_1"]
        lines.append(f"| {name} | {fmt(row['ours']['last20'])} | {fmt(row['vw']['last20'])} | {fmt(p1['last20'])} | "
                     f"{100 * row['same_choice']['mean']:.0f}% | {100 * p1['same_choice_with_ours']['mean']:.0f}% |")
    return "\n".join(lines) if len(lines) > 2 else ""


def staleness_table(report: dict) -> str:
    if "staleness" not in report:
        return ""
    study = report["staleness"]["results"]
    batches = list(next(iter(study.values())).keys())
    lines = ["| stream, policy | " + " | ".join(f"{b}: last 20%" for b in batches) + " |",
             "|---" * (len(batches) + 1) + "|"]
    for key, row in study.items():
        lines.append(f"| {key} | " + " | ".join(fmt(row[b]["last20"]) for b in batches) + " |")
    return "\n".join(lines)


def write_outputs(report, results, args, seeds, out) -> None:
    curves = {}
    for name in args.streams:
        stream = stream_for(name, 0, args.quick)
        n = len(stream.events)
        window = max(50, n // 10)
        x = curve_points(n)
        entry = {"window": window, "x": x.tolist(), "policies": {}}
        if name in streams.SUPERVISED:
            ref = [moving_average(results[("oaa", name, None, s, 0)]["rewards"], window) for s in seeds]
        else:
            ref = [moving_average(stream_for(name, s, args.quick).optimal, window) for s in seeds]
        entry["reference"] = np.round(np.mean(ref, axis=0)[x], 4).tolist()
        for policy in args.policies:
            entry["policies"][policy] = {}
            for side, key in (("ours", ("server", name, policy)), ("vw", ("vw", name, policy))):
                batch = args.batch if side == "ours" else 1
                ma = [moving_average(results[key + (s, batch)]["rewards"], window) for s in seeds]
                entry["policies"][policy][side] = np.round(np.mean(ma, axis=0)[x], 4).tolist()
        curves[name] = entry
    report["curves"] = curves
    with open(os.path.join(out, "learning.json"), "w") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
        f.write("\n")

    text = ["## How well it learns (results)", "", f"Generated {report['generated']} by `{report['command']}`, "
            f"seeds {seeds}, mean ± standard deviation over seeds; server at batch {args.batch}.", "",
            table(report), "", "Regret on the simulated streams (optimal expected reward − expected reward of the "
            "chosen action):", "", regret_table(report)]
    square = squarecb_table(report)
    if square:
        text += ["", "SquareCB and VW 9.11.9's importance weight for the last action (see README):", "", square]
    stale = staleness_table(report)
    if stale:
        text += ["", "Staleness (server only, last 20%):", "", stale]
    text += ["", "Checks:", ""] + [f"- {'PASS' if c['pass'] else 'FAIL'} {c['check']} "
                                   f"(difference {c['difference']:+.4f})" for c in report["checks"]]
    with open(os.path.join(out, "learning-table.md"), "w") as f:
        f.write("\n".join(text) + "\n")
    print("\n".join(text))

    import plots
    for name in args.streams:
        plots.draw(report, name, os.path.join(out, f"learning-{name}.png"))


if __name__ == "__main__":
    sys.exit(main())
