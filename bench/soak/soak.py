"""Soak: well-behaved load keeps being served while other clients misbehave.

Runs the same open-loop Rank+Reward load (personalizer-load) against one release personalizerd in
alternating windows, for several rounds: alone (clean); while misbehaving clients pester a second
server on the same machine (elsewhere: the machine's share of any slowdown); and next to the
misbehaving clients on the same server (misbehaving). The misbehaving clients are —
  - fuzzers: connections sending random bytes, random frames, garbage protobuf and oversized
    length prefixes;
  - stallers: connections that send half a frame and go quiet (closed by the partial-frame timeout);
  - a flood: bursts of connections opened past `maxConnections` and dropped;
  - never-readers: connections that pipeline requests and never read an answer (closed at the
    unread-output limit).
The well-behaved clients must see no errors, and the median of their p99s next to misbehaving
clients must stay within 2x of the median of the clean windows' p99s. On a shared 2-core virtual
machine one window's p99 moves severalfold on its own (the host's noise); alternating short
windows exposes both kinds to the same noise, and medians keep one bad window from deciding.

    make soak       # SOAK_ROUNDS (default 6), SOAK_DURATION (default 10 s per window),
                    # SOAK_RATE (default 2000 calls/s), SOAK_KINDS (default all four kinds)
"""
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
BIN = os.environ.get("SOAK_BIN", os.path.join(ROOT, ".build/release"))
LOAD = os.environ.get("SOAK_LOAD", os.path.join(BIN, "personalizer-load"))
DURATION = float(os.environ.get("SOAK_DURATION", "10"))
ROUNDS = int(os.environ.get("SOAK_ROUNDS", "6"))
RATE = int(os.environ.get("SOAK_RATE", "2000"))
# Which misbehaviours run (comma-separated): fuzz, stall, flood, never-read; "spin" only burns a
# CPU without touching the server, to tell the server's share of a slowdown from the machine's.
KINDS = os.environ.get("SOAK_KINDS", "fuzz,stall,flood,never-read")
RESULTS = os.path.join(ROOT, "bench/results")
# Each round runs these windows in turn. "elsewhere" aims the same misbehaving clients at a second
# server on the same machine: what the well-behaved clients lose to the machine being busy, apart
# from what the server they use loses to handling the misbehaviour.
WINDOWS = ("clean", "elsewhere", "misbehaving")
CONFIG = {
    "loops": {"default": {"rewardWaitTimeSeconds": 0.5, "modelUpdateIntervalSeconds": 1}},
    "limits": {"maxConnections": 512, "partialFrameTimeoutSeconds": 1, "maxBufferedOutputBytes": 262144},
}


def start_server(directory):
    config = os.path.join(directory, "config.json")
    with open(config, "w") as f:
        json.dump(CONFIG, f)
    path = os.path.join(directory, "soak.sock")
    errors = open(os.path.join(directory, "stderr"), "w+")
    process = subprocess.Popen([os.path.join(BIN, "personalizerd"), "--socket", path, "--data-dir",
                                os.path.join(directory, "data"), "--config", config],
                               stdout=subprocess.DEVNULL, stderr=errors)
    deadline = time.time() + 20
    while not os.path.exists(path):
        if process.poll() is not None or time.time() > deadline:
            raise SystemExit(f"personalizerd did not start: {server_errors(errors)}")
        time.sleep(0.02)
    return process, path, errors


def server_errors(errors):
    errors.seek(0)
    return errors.read()[-2000:]


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(path)
    return s


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


class Misbehavior:
    """Each kind runs on its own thread until stopped, paced so it pesters rather than saturates."""

    def __init__(self, path):
        self.path = path
        self.stop = threading.Event()
        self.counts = {"fuzzed": 0, "stalled": 0, "flooded": 0, "never_read": 0}
        kinds = {"fuzz": [self.fuzzer, self.fuzzer], "stall": [self.staller], "flood": [self.flood],
                 "never-read": [self.never_reader], "spin": [self.spin]}
        chosen = [kind for kind in KINDS.split(",") if kind]
        unknown = [kind for kind in chosen if kind not in kinds]
        if unknown:
            raise SystemExit(f"SOAK_KINDS: unknown {', '.join(unknown)} (known: {', '.join(kinds)})")
        self.threads = [threading.Thread(target=target, daemon=True)
                        for kind in chosen for target in kinds[kind]]

    def start(self):
        for thread in self.threads:
            thread.start()

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def fuzzer(self):
        rng = random.Random(threading.get_ident())
        while not self.stop.is_set():
            try:
                s = connect(self.path)
                kind = rng.randrange(4)
                if kind == 0:
                    s.sendall(rng.randbytes(rng.randrange(1, 300)))
                elif kind == 1:
                    s.sendall(b"".join(frame(rng.randbytes(rng.randrange(0, 200)))
                                       for _ in range(rng.randrange(1, 20))))
                elif kind == 2:
                    s.sendall(struct.pack(">I", 0xFFFFFFF0) + b"x" * 100)
                else:
                    # A valid Request header (id, loop) around a mangled Rank.
                    body = b"\x08\x01\x52" + bytes([rng.randrange(1, 100)]) + rng.randbytes(120)
                    s.sendall(frame(body) * rng.randrange(1, 10))
                try:
                    s.recv(65536)
                except OSError:
                    pass
                s.close()
                self.counts["fuzzed"] += 1
            except OSError:
                pass
            time.sleep(0.005)

    def staller(self):
        held = []
        while not self.stop.is_set():
            while len(held) < 100 and not self.stop.is_set():
                try:
                    s = connect(self.path)
                    s.sendall(struct.pack(">I", 500) + b"half")
                    held.append(s)
                    self.counts["stalled"] += 1
                except OSError:
                    break
            time.sleep(0.2)
            alive = []
            for s in held:  # the server closes them after its timeout: open new ones
                s.setblocking(False)
                try:
                    closed = s.recv(1) == b""
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                if closed:
                    s.close()
                else:
                    alive.append(s)
            held = alive
        for s in held:
            s.close()

    def flood(self):
        while not self.stop.is_set():
            burst = []
            for _ in range(600):  # more than maxConnections at once
                try:
                    burst.append(connect(self.path))
                except OSError:
                    break
            self.counts["flooded"] += len(burst)
            for s in burst:
                s.close()
            time.sleep(2)

    def spin(self):
        while not self.stop.is_set():
            sum(range(10000))

    def never_reader(self):
        status = frame(b"\x08\x07\x6a\x00")  # Request{id: 7, status: {}}
        while not self.stop.is_set():
            try:
                s = connect(self.path)
                s.settimeout(0.5)
                while not self.stop.is_set():
                    s.sendall(status * 500)
                    time.sleep(0.01)
            except OSError:
                self.counts["never_read"] += 1  # disconnected at the unread-output limit
            time.sleep(0.1)


def well_behaved(path, misbehavior):
    load = subprocess.Popen([LOAD, "--socket", path, "--mix", "rank-reward", "--connections", "2",
                             "--rate", str(RATE), "--duration", str(DURATION), "--warmup", "2", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if misbehavior:
        time.sleep(1)  # the well-behaved clients hold their connections by now; then the trouble starts
        misbehavior.start()
    out, err = load.communicate()
    if load.returncode != 0:
        raise SystemExit(f"personalizer-load failed ({load.returncode}): {err[-2000:]}")
    result = json.loads(out)
    # The socket lives in a temporary directory: its name says which one it was.
    if "socket" in result.get("config", {}):
        result["config"]["socket"] = os.path.basename(result["config"]["socket"])
    return result


def window(server, path, errors, target):
    """One window of well-behaved load on `path`; misbehaving clients, if any, pester `target`."""
    misbehavior = Misbehavior(target) if target else None
    try:
        summary = well_behaved(path, misbehavior)
    finally:
        if misbehavior:
            misbehavior.finish()
    if server.poll() is not None:
        raise SystemExit(f"personalizerd exited {server.returncode}: {server_errors(errors)}")
    time.sleep(1)  # stalled and flooding connections left over are closed before the next window
    return summary, (misbehavior.counts if misbehavior else {})


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def row(name, summary):
    latency = summary["latency_us"]
    return f"{name:18}{latency['p50']:10.0f}{latency['p99']:10.0f}{latency['p999']:10.0f}{summary['errors']:8}"


def main():
    if ROUNDS < 1:
        raise SystemExit(f"SOAK_ROUNDS must be at least 1 (got {ROUNDS})")
    Misbehavior("")  # checks SOAK_KINDS before the first run
    runs = {kind: [] for kind in WINDOWS}
    counts = {}
    with tempfile.TemporaryDirectory(prefix="pz-soak-") as served, \
            tempfile.TemporaryDirectory(prefix="pz-soak-other-") as other:
        server, path, errors = start_server(served)
        bystander, bystander_path, bystander_errors = start_server(other)
        targets = {"clean": None, "elsewhere": bystander_path, "misbehaving": path}
        try:
            for number in range(1, ROUNDS + 1):
                for kind in WINDOWS:
                    summary, window_counts = window(server, path, errors, targets[kind])
                    print(f"round {number} {kind}: p99 {summary['latency_us']['p99']:.0f} us, "
                          f"errors {summary['errors']}", file=sys.stderr)
                    runs[kind].append(summary)
                    if kind == "misbehaving":
                        for key, value in window_counts.items():
                            counts[key] = counts.get(key, 0) + value
        finally:
            for process in (server, bystander):
                process.send_signal(signal.SIGTERM)
            codes = [process.wait(timeout=30) for process in (server, bystander)]
        if codes != [0, 0]:
            raise SystemExit(f"personalizerd exited {codes}: {server_errors(errors)}{server_errors(bystander_errors)}")
    p99 = {kind: median([r["latency_us"]["p99"] for r in runs[kind]]) for kind in WINDOWS}
    ratio = p99["misbehaving"] / p99["clean"]
    errors = sum(r["errors"] for kind in WINDOWS for r in runs[kind])
    lines = [f"Soak: open-loop Rank+Reward at {RATE} calls/s on 2 connections to one server; {ROUNDS} rounds of "
             f"{DURATION:g} s windows: clean, elsewhere, misbehaving ({KINDS})",
             f"{'window':18}{'p50 us':>10}{'p99 us':>10}{'p99.9 us':>10}{'errors':>8}"]
    for number in range(ROUNDS):
        lines += [row(f"{number + 1} {kind}", runs[kind][number]) for kind in WINDOWS]
    lines += ["median p99: " + ", ".join(f"{kind} {p99[kind]:.0f} us" for kind in WINDOWS),
              f"p99 ratio misbehaving / clean (medians): {ratio:.2f} (target <= 2)",
              f"  of which the machine (misbehaving clients on another server, elsewhere / clean): "
              f"{p99['elsewhere'] / p99['clean']:.2f}",
              f"  and this server's handling of them (misbehaving / elsewhere): {p99['misbehaving'] / p99['elsewhere']:.2f}",
              f"errors seen by well-behaved clients: {errors}",
              "misbehaving clients (misbehaving windows): " + ", ".join(f"{k} {v}" for k, v in counts.items())]
    table = "\n".join(lines)
    print(table)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "soak.json"), "w") as f:
        json.dump({"windows": runs, "median_p99_us": p99, "p99_ratio": ratio, "errors": errors,
                   "misbehaviour": counts, "kinds": KINDS, "rate": RATE, "rounds": ROUNDS,
                   "duration_seconds": DURATION}, f, indent=2)
    with open(os.path.join(RESULTS, "soak.txt"), "w") as f:
        f.write(table + "\n")
    sys.exit(1 if errors != 0 or ratio > 2 else 0)


if __name__ == "__main__":
    main()
