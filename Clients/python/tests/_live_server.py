"""Runs personalizerd for the tests, and a socket that accepts but never answers."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

CONFIG = {
    "loops": {
        # short windows so events are learned within the test
        "default": {"rewardWaitTimeSeconds": 0.2, "modelUpdateIntervalSeconds": 0.05},
        # long windows so event ids stay pending
        "slow": {"rewardWaitTimeSeconds": 60, "modelUpdateIntervalSeconds": 0.05},
        "secured": {"token": "py-token"},
    }
}


def binary() -> str:
    path = os.environ.get("PERSONALIZERD", "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError(f"set PERSONALIZERD to the personalizerd binary (got {path!r})")
    return path


def _accepts(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(path)
            return True
        except OSError:
            return False


class LiveServer:
    """personalizerd on a socket and data directory under `directory`."""

    def __init__(self, directory: Path, config: dict = CONFIG):
        self.directory = directory
        self.socket_path = str(directory / "pz.sock")
        self.log_path = directory / "server.log"
        (directory / "data").mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(json.dumps(config))
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [binary(), "--socket", self.socket_path, "--data-dir", str(directory / "data"),
                 "--config", str(directory / "config.json")],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not _accepts(self.socket_path):
            if self.process.poll() is not None:
                raise RuntimeError(f"personalizerd exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"personalizerd did not listen within 60 s:\n{self.log()}")
            time.sleep(0.02)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
                raise RuntimeError("personalizerd did not stop within 10 s of SIGTERM")
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class SilentServer:
    """A listening socket that accepts connections and never answers (or sends what it's told)."""

    def __init__(self, directory: Path):
        self.socket_path = str(directory / "silent.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.socket_path)
        self.listener.listen(8)
        self.accepted: list[socket.socket] = []

    def accept(self) -> socket.socket:
        """The server side of the next connection (already queued by the client's connect)."""
        self.listener.settimeout(5)
        peer, _ = self.listener.accept()
        self.accepted.append(peer)
        return peer

    def close(self) -> None:
        for s in self.accepted:
            s.close()
        self.listener.close()
