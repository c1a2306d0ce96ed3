"""Rank+Reward throughput with the event log off, in `interval` mode and in `ack` mode.

Each mode runs the same closed-loop load (personalizer-load, 4 connections x 64 in flight,
Rank+Reward) against a fresh release personalizerd, several times; the table gives medians
and each mode's ratio to the run with logging off, measured in the same session.

    make bench-durability                      # BENCH_RUNS, BENCH_DURATION to change
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BIN = os.environ.get("BENCH_BIN", os.path.join(ROOT, ".build/release"))
LOAD = os.environ.get("BENCH_LOAD", os.path.join(BIN, "personalizer-load"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
DURATION = float(os.environ.get("BENCH_DURATION", "5"))
RESULTS = os.path.join(ROOT, "bench/results")
MODES = ["off", "interval", "ack"]


def start_server(directory, mode):
    config = os.path.join(directory, "config.json")
    with open(config, "w") as f:
        json.dump({"loops": {"default": {"durability": mode, "rewardWaitTimeSeconds": 1,
                                         "modelUpdateIntervalSeconds": 1}}}, f)
    socket_path = os.path.join(directory, "bench.sock")
    process = subprocess.Popen([os.path.join(BIN, "personalizerd"), "--socket", socket_path,
                                "--data-dir", os.path.join(directory, "data"), "--config", config],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 20
    while not os.path.exists(socket_path):
        if process.poll() is not None or time.time() > deadline:
            raise SystemExit(f"personalizerd did not start: {process.stderr.read().decode()}")
        time.sleep(0.02)
    return process, socket_path


def run_once(mode):
    with tempfile.TemporaryDirectory(prefix="pz-durability-") as directory:
        server, socket_path = start_server(directory, mode)
        try:
            result = subprocess.run(
                [LOAD, "--socket", socket_path, "--mix", "rank-reward", "--connections", "4", "--depth", "64",
                 "--threads", "1", "--duration", str(DURATION), "--warmup", "1", "--json"],
                check=True, capture_output=True, text=True)
            summary = json.loads(result.stdout)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        log_bytes = sum(os.path.getsize(os.path.join(root, name))
                        for root, _, names in os.walk(os.path.join(directory, "data")) for name in names)
    if summary.get("errors", 0):
        raise SystemExit(f"{mode}: {summary['errors']} errors")
    return {"rank_per_second": summary["rank_per_second"], "p50_us": summary["latency_us"]["p50"],
            "p99_us": summary["latency_us"]["p99"], "data_bytes": log_bytes}


def main():
    runs = {mode: [] for mode in MODES}
    # Interleave the modes so drift of the machine hits them alike.
    for index in range(RUNS):
        for mode in MODES:
            runs[mode].append(run_once(mode))
            print(f"run {index + 1}/{RUNS} {mode:8} {runs[mode][-1]['rank_per_second']:10.0f} Rank+Reward pairs/s",
                  file=sys.stderr)
    medians = {mode: {key: statistics.median(run[key] for run in runs[mode])
                      for key in ("rank_per_second", "p50_us", "p99_us", "data_bytes")} for mode in MODES}
    baseline = medians["off"]["rank_per_second"]
    lines = [f"Rank+Reward, 4 connections x 64 in flight, {DURATION:g} s x {RUNS} runs (medians)",
             f"{'durability':12}{'pairs/s':>12}{'vs off':>9}{'p50 us':>10}{'p99 us':>10}{'MB on disk':>12}"]
    for mode in MODES:
        m = medians[mode]
        lines.append(f"{mode:12}{m['rank_per_second']:12.0f}{m['rank_per_second'] / baseline:9.2f}"
                     f"{m['p50_us']:10.0f}{m['p99_us']:10.0f}{m['data_bytes'] / 1e6:12.1f}")
    table = "\n".join(lines)
    print(table)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "durability.json"), "w") as f:
        json.dump({"runs": runs, "medians": medians, "ratio_to_off": {
            mode: medians[mode]["rank_per_second"] / baseline for mode in MODES},
            "duration_seconds": DURATION, "machine_cores": os.cpu_count()}, f, indent=2)
    with open(os.path.join(RESULTS, "durability.txt"), "w") as f:
        f.write(table + "\n")


if __name__ == "__main__":
    main()
