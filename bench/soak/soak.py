"""Soak: well-behaved load keeps being served while other clients misbehave.

Runs the same open-loop Rank+Reward load (personalizer-load) twice against a release
personalizerd: once alone (clean), once next to misbehaving clients —
  - fuzzers: connections sending random bytes, random frames, garbage protobuf and oversized
    length prefixes;
  - stallers: connections that send half a frame and go quiet (closed by the partial-frame timeout);
  - a flood: bursts of connections opened past `maxConnections` and dropped;
  - never-readers: connections that pipeline requests and never read an answer (closed at the
    unread-output limit).
The well-behaved clients must see no errors, and their p99 must stay within 2x of the clean run.

    make soak                 # SOAK_DURATION (default 60 s per run), SOAK_RATE (default 2000 calls/s)
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
DURATION = float(os.environ.get("SOAK_DURATION", "60"))
RATE = int(os.environ.get("SOAK_RATE", "2000"))
RESULTS = os.path.join(ROOT, "bench/results")
CONFIG = {
    "loops": {"default": {"rewardWaitTimeSeconds": 0.5, "modelUpdateIntervalSeconds": 1}},
    "limits": {"maxConnections": 512, "partialFrameTimeoutSeconds": 1, "maxBufferedOutputBytes": 262144},
}


def start_server(directory):
    config = os.path.join(directory, "config.json")
    with open(config, "w") as f:
        json.dump(CONFIG, f)
    path = os.path.join(directory, "soak.sock")
    process = subprocess.Popen([os.path.join(BIN, "personalizerd"), "--socket", path, "--data-dir",
                                os.path.join(directory, "data"), "--config", config],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 20
    while not os.path.exists(path):
        if process.poll() is not None or time.time() > deadline:
            raise SystemExit(f"personalizerd did not start: {process.stderr.read().decode()}")
        time.sleep(0.02)
    return process, path


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
        self.threads = [threading.Thread(target=target, daemon=True)
                        for target in (self.fuzzer, self.fuzzer, self.staller, self.flood, self.never_reader)]

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
                    s.sendall(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))))
                elif kind == 1:
                    s.sendall(b"".join(frame(bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200))))
                                       for _ in range(rng.randrange(1, 20))))
                elif kind == 2:
                    s.sendall(struct.pack(">I", 0xFFFFFFF0) + b"x" * 100)
                else:
                    # A valid Request header (id, loop) around a mangled Rank.
                    body = b"\x08\x01\x52" + bytes([rng.randrange(1, 100)]) + bytes(rng.randrange(256) for _ in range(120))
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
    return json.loads(out)


def run(misbehave):
    with tempfile.TemporaryDirectory(prefix="pz-soak-") as directory:
        server, path = start_server(directory)
        misbehavior = Misbehavior(path) if misbehave else None
        try:
            summary = well_behaved(path, misbehavior)
        finally:
            if misbehavior:
                misbehavior.finish()
            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=30)
        if code != 0:
            raise SystemExit(f"personalizerd exited {code}: {server.stderr.read().decode()[-2000:]}")
        return summary, (misbehavior.counts if misbehavior else {})


def main():
    clean, _ = run(False)
    print(f"clean: p99 {clean['latency_us']['p99']:.0f} us, errors {clean['errors']}", file=sys.stderr)
    noisy, counts = run(True)
    print(f"misbehaving: p99 {noisy['latency_us']['p99']:.0f} us, errors {noisy['errors']}", file=sys.stderr)
    ratio = noisy["latency_us"]["p99"] / clean["latency_us"]["p99"]
    lines = [f"Soak: open-loop Rank+Reward at {RATE} calls/s on 2 connections, {DURATION:g} s per run",
             f"{'run':14}{'p50 us':>10}{'p99 us':>10}{'p99.9 us':>10}{'errors':>8}",
             f"{'clean':14}{clean['latency_us']['p50']:10.0f}{clean['latency_us']['p99']:10.0f}"
             f"{clean['latency_us']['p999']:10.0f}{clean['errors']:8}",
             f"{'misbehaving':14}{noisy['latency_us']['p50']:10.0f}{noisy['latency_us']['p99']:10.0f}"
             f"{noisy['latency_us']['p999']:10.0f}{noisy['errors']:8}",
             f"p99 ratio misbehaving / clean: {ratio:.2f} (target <= 2)",
             "misbehaving clients: " + ", ".join(f"{k} {v}" for k, v in counts.items())]
    table = "\n".join(lines)
    print(table)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "soak.json"), "w") as f:
        json.dump({"clean": clean, "misbehaving": noisy, "p99_ratio": ratio, "misbehaviour": counts,
                   "rate": RATE, "duration_seconds": DURATION}, f, indent=2)
    with open(os.path.join(RESULTS, "soak.txt"), "w") as f:
        f.write(table + "\n")
    failed = noisy["errors"] != 0 or clean["errors"] != 0 or ratio > 2
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
