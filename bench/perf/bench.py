#!/usr/bin/env python3
"""The performance bench: personalizerd against a raw Unix-socket echo, in the same run.

Every case is run against the real server and against bench/echo (which answers each frame with a
reply frame of the size the server's reply has, doing no work), alternately, so each figure can be
given as a ratio to the socket's own cost on this machine at this moment. Latency cases run twice:
client and server pinned to one CPU (`taskset -c 0` for both), and unpinned. Between (c)'s runs,
the Rank path in process (personalizer-bench-rank) is timed too, with the server's own configuration
(bench-config.json: the same policy, and events logged for export as the server logs them), and with
logging off: (c)'s pairs/s are also given as a share of each rate, measured in the same run.

    bench.py                 the matrix (cases a, b, d pinned and unpinned; c unpinned)
    bench.py --soak          Rank+Reward throughput for 60 s: pairs/s, server RSS, trainer lag
    bench.py --cases ad --placements pinned     a part of the matrix (quicker, while working on one case)

Writes bench/results/perf.{json,txt} and perf-latency.png (or perf-soak-throughput.{json,txt,png}).
Standard library only, plus matplotlib for the plots (skipped with a note if it is missing).
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
CONFIG = ROOT / "bench" / "perf" / "bench-config.json"

SERVER = Path(os.environ.get("PERSONALIZERD", ROOT / ".build" / "release" / "personalizerd"))
LOAD = Path(os.environ.get("PERSONALIZER_LOAD", ROOT / ".build" / "release" / "personalizer-load"))
ECHO = Path(os.environ.get("PERSONALIZER_ECHO", ROOT / "bench" / "build" / "personalizer-echo"))
BENCH_RANK = Path(os.environ.get("PERSONALIZER_BENCH_RANK", ROOT / ".build" / "release" / "personalizer-bench-rank"))

RANK_SHAPE = ["--context-features", "15", "--context-namespaces", "3",
              "--action-features", "5", "--action-namespaces", "1"]
CASES = {
    "a": {"title": "Rank, 10 actions, 1 conn x 1 in flight", "kind": "latency", "rate": "rank_per_second",
          "args": ["--mix", "rank", "--actions", "10", *RANK_SHAPE, "--connections", "1", "--depth", "1"]},
    "b": {"title": "Rank, 50 actions, 1 conn x 1 in flight", "kind": "latency", "rate": "rank_per_second",
          "args": ["--mix", "rank", "--actions", "50", *RANK_SHAPE, "--connections", "1", "--depth", "1"]},
    "c": {"title": "Rank+Reward, 10 actions, 4 conns x 64", "kind": "throughput",
          "rate": "pairs_per_second",
          "args": ["--mix", "rank-reward", "--actions", "10", *RANK_SHAPE, "--connections", "4", "--depth", "64"]},
    "d": {"title": "Status only (transport floor), 1 conn x 1", "kind": "latency", "rate": "status_per_second",
          "args": ["--mix", "status", "--connections", "1", "--depth", "1"]},
}
PLACEMENTS = {"pinned": ["taskset", "-c", "0"], "unpinned": []}
LATENCY_FIELDS = ["p50", "p90", "p99", "p999", "max"]


def log(message):
    print(message, file=sys.stderr, flush=True)


class Process:
    """A child we started; stopped by its own pid only."""

    def __init__(self, command, ready_text, log_path, timeout=30):
        self.log_path = log_path
        self.log_file = open(log_path, "w")
        self.process = subprocess.Popen(command, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited ({self.process.returncode}): {Path(log_path).read_text()}")
            if ready_text in Path(log_path).read_text():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{' '.join(map(str, command))} was not ready within {timeout} s")

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


def start_server(work, placement):
    socket = work / f"server-{placement}.sock"
    data = work / f"data-{placement}"
    command = [*PLACEMENTS[placement], str(SERVER), "--socket", str(socket), "--data-dir", str(data),
               "--config", str(CONFIG)]
    return Process(command, "listening", work / f"server-{placement}.log"), socket


def start_echo(work, placement, rank_bytes, small_bytes):
    socket = work / f"echo-{placement}.sock"
    command = [*PLACEMENTS[placement], str(ECHO), "--socket", str(socket), "--rank-bytes", str(rank_bytes),
               "--small-bytes", str(small_bytes), "--threshold", "256"]
    return Process(command, "listening", work / f"echo-{placement}.log"), socket


def run_load(socket, case, placement, raw, duration, warmup, pid=None, extra=()):
    """One personalizer-load run; `pid` is the server's (or echo's), for its CPU time and memory."""
    command = [*PLACEMENTS[placement], str(LOAD), "--socket", str(socket), *CASES[case]["args"],
               "--duration", str(duration), "--warmup", str(warmup), "--json", *extra]
    if pid is not None:
        command += ["--server-pid", str(pid)]
    if raw:
        command += ["--expect", "raw"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=duration + warmup + 120)
    if not completed.stdout.strip():
        raise RuntimeError(f"personalizer-load failed ({completed.returncode}): {completed.stderr.strip()}")
    result = json.loads(completed.stdout)
    # The socket lives in a temporary directory: its name says which one it was.
    if "socket" in result.get("config", {}):
        result["config"]["socket"] = Path(result["config"]["socket"]).name
    if completed.returncode != 0:
        log(f"  warning: personalizer-load exited {completed.returncode}: {result.get('connection_failures')}")
    return result


def reply_payload(result, kind):
    """The reply payload size (without the 4-byte prefix) the server sent for `kind`."""
    frame = result["reply_bytes"][kind]
    return max(0, round(frame) - 4) if frame else 0


def compact(result):
    """What the JSON keeps of one run (the timeline and spectrum only for plots)."""
    keep = {k: result[k] for k in ("rank_per_second", "reward_per_second", "status_per_second", "pairs_per_second",
                                   "latency_us", "cpu_us_per_call", "errors", "average_reward", "reply_bytes",
                                   "request_bytes", "measured_s")}
    keep["latency_percentiles_us"] = result["latency_percentiles_us"]
    if "server" in result:
        keep["server"] = result["server"]
    if result.get("first_error"):
        keep["first_error"] = result["first_error"]
    return keep


def medians(runs, rate_key):
    summary = {field: statistics.median(run["latency_us"][field] for run in runs) for field in LATENCY_FIELDS}
    summary["rate"] = statistics.median(run[rate_key] for run in runs)
    for key, field in (("cpu", "server"), ("client_cpu", "client")):
        values = [run["cpu_us_per_call"][field] for run in runs if run["cpu_us_per_call"][field] is not None]
        summary[key] = statistics.median(values) if values else None
    summary["errors"] = sum(run["errors"] for run in runs)
    summary["runs"] = len(runs)
    return summary


def ratio(server, echo):
    return server / echo if echo else None


def shown_path(path):
    """A binary's path as the results record it: relative to the repository, or its name alone."""
    path = Path(os.path.abspath(path))
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def machine_info():
    def read(path):
        try:
            return Path(path).read_text()
        except OSError:
            return ""
    model = next((line.split(":", 1)[1].strip() for line in read("/proc/cpuinfo").splitlines()
                  if line.startswith("model name")), platform.processor())
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    # The bench's own results do not make the source modified (the soak runs after the matrix).
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "--", ".",
                            ":(exclude)bench/results"], capture_output=True, text=True)
    binaries = {name: {"path": shown_path(path), "modified_utc": datetime.datetime.fromtimestamp(
                    path.stat().st_mtime, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
                for name, path in (("personalizerd", SERVER), ("personalizer-load", LOAD), ("echo", ECHO))}
    default_server = SERVER == ROOT / ".build" / "release" / "personalizerd"
    source = os.environ.get("BENCH_SERVER_SOURCE") or (
        f"repository at {commit.stdout.strip()}{' (modified)' if dirty.stdout.strip() else ''}" if default_server
        else shown_path(SERVER))
    return {"cpus": os.cpu_count(), "cpu_model": model, "kernel": platform.release(), "binaries": binaries,
            "server_source": source,
            "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commit": commit.stdout.strip() or None, "work_tree_modified": bool(dirty.stdout.strip()),
            "loadavg_before": os.getloadavg()[0]}


def warn_if_busy():
    load = os.getloadavg()[0]
    if load > 0.7:
        log(f"warning: load average {load:.2f} before the bench: other processes share the 2 CPUs; "
            "figures (and ratios) will be noisier than on an idle machine")


# --- the matrix ---------------------------------------------------------------------------

def matrix(args, work):
    cases_by_placement = {placement: [case for case in cases if case in args.cases]
                          for placement, cases in (("pinned", ["a", "b", "d"]), ("unpinned", ["a", "b", "d", "c"]))
                          if placement in args.placements}
    cases_by_placement = {placement: cases for placement, cases in cases_by_placement.items() if cases}
    data = {"machine": machine_info(), "settings": {"runs": args.runs, "duration_s": args.duration,
                                                    "warmup_s": args.warmup, "server_config": json.loads(CONFIG.read_text()),
                                                    "placements": {k: " ".join(v) or "(none)" for k, v in PLACEMENTS.items()}},
            "cases": {}}
    for placement, cases in cases_by_placement.items():
        server, server_socket = start_server(work, placement)
        try:
            for case in cases:
                log(f"case ({case}) {CASES[case]['title']}, {placement}: {args.runs} runs each, server and echo alternately")
                server_runs = [run_load(server_socket, case, placement, False, args.duration, args.warmup, server.pid)]
                small = reply_payload(server_runs[0], "status" if case == "d" else "reward") or 8
                rank = reply_payload(server_runs[0], "rank") or small
                echo, echo_socket = start_echo(work, placement, rank, small)
                echo_runs = []
                # (c)'s baseline, the Rank path in process, is timed between its runs, so both see the
                # machine in the same state.
                in_process_runs = [in_process_rank(logged=True)] if case == "c" else []
                unlogged_runs = [in_process_rank(logged=False)] if case == "c" else []
                try:
                    for index in range(args.runs):
                        if index > 0:
                            server_runs.append(run_load(server_socket, case, placement, False, args.duration,
                                                        args.warmup, server.pid))
                            if case == "c":
                                in_process_runs.append(in_process_rank(logged=True))
                                unlogged_runs.append(in_process_rank(logged=False))
                        echo_runs.append(run_load(echo_socket, case, placement, True, args.duration, args.warmup,
                                                  echo.pid))
                finally:
                    echo.stop()
                rate_key = CASES[case]["rate"]
                entry = {"title": CASES[case]["title"], "kind": CASES[case]["kind"],
                         "echo_reply_bytes": {"rank": rank, "small": small},
                         "server": medians(server_runs, rate_key), "echo": medians(echo_runs, rate_key),
                         "server_runs": [compact(run) for run in server_runs],
                         "echo_runs": [compact(run) for run in echo_runs]}
                entry["ratio"] = {field: ratio(entry["server"][field], entry["echo"][field]) for field in LATENCY_FIELDS}
                entry["ratio"]["rate"] = ratio(entry["server"]["rate"], entry["echo"]["rate"])
                entry["ratio"]["cpu"] = (ratio(entry["server"]["cpu"], entry["echo"]["cpu"])
                                         if entry["server"]["cpu"] and entry["echo"]["cpu"] else None)
                data["cases"].setdefault(case, {})[placement] = entry
                if in_process_runs:
                    rate = statistics.median(in_process_runs)
                    unlogged = statistics.median(unlogged_runs)
                    data["in_process_rank"] = {"rank_per_second": rate, "runs": in_process_runs,
                                               "unlogged_rank_per_second": unlogged, "unlogged_runs": unlogged_runs}
                    log(f"  in-process Rank {rate:,.0f}/s ({1e6 / rate:.2f} µs per Rank) with the server's configuration, "
                        f"{unlogged:,.0f}/s ({1e6 / unlogged:.2f} µs) with logging off; medians of {len(in_process_runs)}")
                s, e = entry["server"], entry["echo"]
                log(f"  server p50 {s['p50']:.1f} p99 {s['p99']:.1f} µs, {s['rate']:,.0f}/s, CPU {fmt(s['cpu'], 2)} µs/call; "
                    f"echo p50 {e['p50']:.1f} p99 {e['p99']:.1f} µs, {e['rate']:,.0f}/s, CPU {fmt(e['cpu'], 2)} µs/call")
        finally:
            server.stop()
    data["machine"]["loadavg_after"] = os.getloadavg()[0]
    return data


def in_process_rank(logged):
    """One run of the Rank path's own rate in process, one thread (personalizer-bench-rank,
    unpinned: its trainer runs on the other CPU): the baseline of (c)'s 70% target. `logged`:
    with the server's configuration (events logged as the server logs them), else logging off."""
    command = [str(BENCH_RANK), "--json"] + (["--config", str(CONFIG)] if logged else [])
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"personalizer-bench-rank failed ({completed.returncode}): {completed.stderr.strip()}")
    return json.loads(completed.stdout.strip().splitlines()[-1])["rank_per_second"]


def fmt(value, digits=1):
    return "-" if value is None else f"{value:.{digits}f}"


def table(data):
    lines = []
    m = data["machine"]
    s = data["settings"]
    lines.append(f"personalizerd vs raw echo — medians of {s['runs']} runs of {s['duration_s']} s "
                 f"(+{s['warmup_s']} s warm-up) each; {m['cpus']} CPUs ({m['cpu_model']}), kernel {m['kernel']}, "
                 f"{m['date_utc']}, personalizerd from {m['server_source']}, "
                 f"load average {m['loadavg_before']:.2f} before")
    lines.append("pinned: client and server (or echo) both `taskset -c 0`; unpinned: no affinity. Latency in µs;")
    lines.append("cpu: CPU time of the server (or echo) process per call (per pair in (c)), all threads, in µs.")
    lines.append("")
    header = (f"{'case':<50} {'placement':<9} {'':>6} {'p50':>8} {'p90':>8} {'p99':>8} {'p99.9':>8} {'max':>9} "
              f"{'per s':>11} {'cpu':>8}")
    lines.append(header)
    lines.append("-" * len(header))
    for case in ["a", "b", "d", "c"]:
        for placement in ["pinned", "unpinned"]:
            entry = data["cases"].get(case, {}).get(placement)
            if not entry:
                continue
            label = f"({case}) {entry['title']}"
            shown = placement
            for row, values in (("server", entry["server"]), ("echo", entry["echo"]), ("ratio", entry["ratio"])):
                suffix = "x" if row == "ratio" else ""
                digits = 2 if row == "ratio" else 1
                cells = [fmt(values[f], digits) + suffix for f in LATENCY_FIELDS]
                rate = fmt(values["rate"], 2) + "x" if row == "ratio" else f"{values['rate']:,.0f}"
                cpu = fmt(values["cpu"], 2) + ("x" if row == "ratio" and values["cpu"] is not None else "")
                errors = f"  errors {values['errors']}" if row != "ratio" and values["errors"] else ""
                lines.append(f"{label:<50} {shown:<9} {row:>6} " + " ".join(f"{c:>8}" for c in cells[:4])
                             + f" {cells[4]:>9} {rate:>11} {cpu:>8}{errors}")
                label = ""
                shown = ""
            lines.append("")
    lines.append("targets:")
    for placement in ["pinned", "unpinned"]:
        a = data["cases"].get("a", {}).get(placement)
        d = data["cases"].get("d", {}).get(placement)
        if a:
            lines.append(f"  (a) {placement:<8} Rank p50 {fmt(a['ratio']['p50'], 2)}x echo (target <= 2x: "
                         f"{'met' if a['ratio']['p50'] <= 2 else 'NOT met'}), p99 {fmt(a['ratio']['p99'], 2)}x "
                         f"(target <= 3x: {'met' if a['ratio']['p99'] <= 3 else 'NOT met'})")
        if d:
            lines.append(f"  (d) {placement:<8} Status p50 {fmt(d['ratio']['p50'], 2)}x echo (target <= 1.3x: "
                         f"{'met' if d['ratio']['p50'] <= 1.3 else 'NOT met'})")
    c = data["cases"].get("c", {}).get("unpinned")
    if c:
        lines.append(f"  (c) unpinned Rank+Reward {c['server']['rate']:,.0f} pairs/s (target >= 50,000: "
                     f"{'met' if c['server']['rate'] >= 50000 else 'NOT met'}); echo {c['echo']['rate']:,.0f} pairs/s")
        baseline = data.get("in_process_rank")
        if baseline:
            share = c["server"]["rate"] / baseline["rank_per_second"]
            lines.append(f"  (c) unpinned Rank+Reward pairs/s = {share:.0%} of the in-process Rank rate "
                         f"{baseline['rank_per_second']:,.0f}/s with the server's configuration, measured in the same "
                         f"run (target >= 70%: {'met' if share >= 0.7 else 'NOT met'})")
            unlogged = c["server"]["rate"] / baseline["unlogged_rank_per_second"]
            lines.append(f"      and {unlogged:.0%} of the in-process rate with logging off "
                         f"({baseline['unlogged_rank_per_second']:,.0f}/s)")
    return "\n".join(lines)


def median_run(runs):
    ordered = sorted(runs, key=lambda run: run["latency_us"]["p50"])
    return ordered[len(ordered) // 2]


def plot_matrix(data, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no plot (make deps-python installs it)")
        return False
    import math

    def x_of(percentile):
        return -math.log10(max(1e-6, 1 - percentile / 100))

    panels = [("a", "pinned"), ("a", "unpinned"), ("b", "pinned"), ("b", "unpinned"), ("d", "pinned"),
              ("d", "unpinned"), ("c", "unpinned")]
    panels = [(case, placement) for case, placement in panels if data["cases"].get(case, {}).get(placement)]
    cases = []
    for case, _ in panels:
        if case not in cases:
            cases.append(case)
    columns = 2 if len(cases) > 1 else 1
    rows = (len(cases) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(6.2 * columns, 4.6 * rows), squeeze=False)
    for axis in axes.flat[len(cases):]:
        axis.set_visible(False)
    colors = {"pinned": "tab:blue", "unpinned": "tab:orange"}
    for axis, case in zip(axes.flat, cases):
        for placement in ["pinned", "unpinned"]:
            entry = data["cases"][case].get(placement)
            if not entry:
                continue
            for target, style in (("server", "-"), ("echo", "--")):
                run = median_run(entry[f"{target}_runs"])
                points = [(p, v) for p, v in run["latency_percentiles_us"] if p < 100]
                if not points:
                    continue
                label = f"{'personalizerd' if target == 'server' else 'raw echo'}, {placement}"
                axis.plot([x_of(p) for p, _ in points], [v for _, v in points], style, color=colors[placement],
                          label=label, linewidth=1.6)
        axis.set_yscale("log")
        ticks = [0, 50, 90, 99, 99.9, 99.99, 99.999]
        axis.set_xticks([x_of(t) for t in ticks])
        axis.set_xticklabels([f"{t:g}" for t in ticks])
        axis.set_xlim(0, x_of(99.999))
        axis.set_xlabel("percentile")
        axis.set_ylabel("latency (µs)")
        axis.set_title(f"({case}) {CASES[case]['title']}", fontsize=9)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7, loc="best")
    s = data["settings"]
    fig.suptitle(f"personalizerd vs raw Unix-socket echo (median run of {s['runs']}, {s['duration_s']} s each; "
                 f"{data['machine']['cpus']} CPUs, {data['machine']['date_utc']})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# --- the soak -----------------------------------------------------------------------------

def soak(args, work):
    server, socket = start_server(work, "unpinned")
    try:
        log(f"soak: case (c) {CASES['c']['title']} for {args.soak_duration} s, unpinned, server pid {server.pid}")
        result = run_load(socket, "c", "unpinned", False, args.soak_duration, args.warmup, server.pid)
    finally:
        server.stop()
    data = {"machine": machine_info(), "settings": {"duration_s": args.soak_duration, "warmup_s": args.warmup,
                                                    "server_config": json.loads(CONFIG.read_text()),
                                                    "case": CASES["c"]}, "result": result}
    data["machine"]["loadavg_after"] = os.getloadavg()[0]
    return data


def soak_table(data):
    result = data["result"]
    server = result.get("server", {})
    lines = [f"Rank+Reward soak: {data['settings']['duration_s']} s, 4 connections x 64 in flight, unpinned, "
             f"reward wait {data['settings']['server_config']['loops']['default']['rewardWaitTimeSeconds']} s "
             f"({data['machine']['date_utc']}, personalizerd from {data['machine']['server_source']}, "
             f"load average {data['machine']['loadavg_before']:.2f} before)",
             f"pairs/s {result['pairs_per_second']:,.0f}   rank p50 {result['latency_us']['p50']:.1f} µs "
             f"p99 {result['latency_us']['p99']:.1f} µs   errors {result['errors']}   "
             f"average reward {result['average_reward']}",
             f"server RSS {server.get('rss_kb_start')} KiB at start -> {server.get('rss_kb_end')} KiB at end",
             f"trainer lag (rank_calls - learned_events): max {server.get('trainer_lag_max')}, "
             f"at end {server.get('trainer_lag_end')}",
             f"server CPU per pair {fmt(result['cpu_us_per_call']['server'], 2)} µs "
             f"(main thread {fmt(result['cpu_us_per_call']['server_main_thread'], 2)} µs)",
             "", f"{'t (s)':>6} {'rank/s':>10} {'reward/s':>10} {'p99 µs':>9} {'lag':>10} {'pending':>10} "
             f"{'model':>6} {'RSS KiB':>10} {'avg reward':>10}"]
    timeline = result["timeline"]
    step = max(1, len(timeline) // 15)
    for point in timeline[::step] + ([timeline[-1]] if timeline and (len(timeline) - 1) % step else []):
        lines.append(f"{point['t']:>6.0f} {point['rank']:>10,} {point['reward']:>10,} {point['p99_us']:>9.1f} "
                     f"{point.get('trainer_lag', 0):>10,} {point.get('pending_events', 0):>10,} "
                     f"{point.get('model_version', 0):>6} {point.get('server_rss_kb', 0):>10,} "
                     f"{fmt(point['average_reward'], 3):>10}")
    return "\n".join(lines)


def plot_soak(data, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib is not installed: no plot")
        return False
    timeline = data["result"]["timeline"]
    t = [p["t"] for p in timeline]
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    axes[0].plot(t, [p["reward"] for p in timeline], label="Rank+Reward pairs/s")
    axes[0].set_title("throughput")
    axes[1].plot(t, [p.get("trainer_lag", 0) for p in timeline], label="rank_calls - learned_events")
    axes[1].plot(t, [p.get("pending_events", 0) for p in timeline], "--", label="pending_events")
    axes[1].set_title("trainer lag")
    axes[2].plot(t, [p.get("server_rss_kb", 0) / 1024 for p in timeline])
    axes[2].set_title("server RSS (MiB)")
    for axis in axes:
        axis.set_xlabel("seconds")
        axis.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", 5)))
    parser.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", 2)))
    parser.add_argument("--warmup", type=float, default=float(os.environ.get("BENCH_WARMUP", 0.5)))
    parser.add_argument("--soak", action="store_true", help="the 60 s Rank+Reward throughput soak instead")
    parser.add_argument("--soak-duration", type=float, default=float(os.environ.get("BENCH_SOAK_DURATION", 60)))
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--cases", default=os.environ.get("BENCH_CASES", "abcd"),
                        help="which cases of the matrix to run, e.g. ad (default: abcd)")
    parser.add_argument("--placements", default=os.environ.get("BENCH_PLACEMENTS", "pinned,unpinned"),
                        help="pinned, unpinned or both (default: pinned,unpinned)")
    args = parser.parse_args()
    args.placements = args.placements.split(",")
    unknown = [c for c in args.cases if c not in CASES] + [p for p in args.placements if p not in PLACEMENTS]
    if unknown:
        sys.exit(f"bench: unknown case or placement: {', '.join(unknown)}")
    for binary in (SERVER, LOAD, ECHO, BENCH_RANK):
        if not binary.exists():
            sys.exit(f"bench: {binary} is missing (make bench builds it)")
    if shutil.which("taskset") is None:
        sys.exit("bench: taskset (util-linux) is missing")
    warn_if_busy()
    args.results.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pbench-", dir="/tmp"))
    try:
        if args.soak:
            data = soak(args, work)
            text = soak_table(data)
            (args.results / "perf-soak-throughput.json").write_text(json.dumps(data, indent=1) + "\n")
            (args.results / "perf-soak-throughput.txt").write_text(text + "\n")
            plotted = plot_soak(data, args.results / "perf-soak-throughput.png")
            names = "perf-soak-throughput.json, .txt" + (", .png" if plotted else "")
        else:
            data = matrix(args, work)
            text = table(data)
            (args.results / "perf.json").write_text(json.dumps(data, indent=1) + "\n")
            (args.results / "perf.txt").write_text(text + "\n")
            plotted = plot_matrix(data, args.results / "perf-latency.png")
            names = "perf.json, perf.txt" + (", perf-latency.png" if plotted else "")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(text)
    print(f"\nwritten: {args.results.relative_to(ROOT) if args.results.is_relative_to(ROOT) else args.results}/ {names}")


if __name__ == "__main__":
    main()
