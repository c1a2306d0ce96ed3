"""Fixtures: a shared live personalizerd, fresh ones to stop or kill, a silent socket."""
from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

import pytest

from _live_server import LiveServer, SilentServer, binary

from personalizer_client import Client

_ids = itertools.count(1)


def _short_dir() -> Path:
    # Unix socket paths are limited to ~107 bytes: pytest's tmp_path can be longer.
    return Path(tempfile.mkdtemp(prefix="pzpy-"))


def _remove(directory: Path) -> None:
    for root, dirs, files in os.walk(directory, topdown=False):
        for name in files:
            os.unlink(os.path.join(root, name))
        for name in dirs:
            os.rmdir(os.path.join(root, name))
    os.rmdir(directory)


@pytest.fixture(scope="session")
def server():
    """One personalizerd for the whole session (loops "default" and "slow")."""
    binary()   # fails with a clear message when $PERSONALIZERD is not set
    directory = _short_dir()
    live = LiveServer(directory)
    yield live
    status = live.stop()
    _remove(directory)
    assert status == 0, f"personalizerd exited with {status} after SIGTERM"


@pytest.fixture
def fresh_server():
    """A personalizerd of its own, for tests that stop or kill it."""
    directory = _short_dir()
    live = LiveServer(directory)
    yield live
    live.kill()
    _remove(directory)


@pytest.fixture
def silent_server():
    directory = _short_dir()
    silent = SilentServer(directory)
    yield silent
    silent.close()
    _remove(directory)


@pytest.fixture
def client(server):
    with Client(server.socket_path, timeout=5.0) as c:
        yield c


@pytest.fixture
def unique():
    """Unique event ids across the session (the shared server remembers pending ones)."""
    return lambda tag: f"{tag}-{os.getpid()}-{next(_ids)}"

