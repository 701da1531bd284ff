"""Starts the real `rookery` binary on loopback port 0 with a temporary config and data
directory, registers test accounts through the CLI, and hands the address to tests."""
import os
import re
import subprocess
import tempfile
import time

import pytest

BIN = os.environ.get("ROOKERY_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "target", "debug", "rookery"))

CONFIG = """
data_dir = "{data}"
allow_unencrypted_plain_auth = false
[c2s]
listen = ["127.0.0.1:0"]
[[host]]
domain = "localhost"
authentication = "internal_hashed"
allow_anonymous = true
[[muc]]
domain = "conference.localhost"
"""


class Server:
    def __init__(self, proc, port, config):
        self.proc = proc
        self.port = port
        self.config = config


@pytest.fixture(scope="session")
def server():
    tmp = tempfile.mkdtemp(prefix="rookery-py-")
    cfg = os.path.join(tmp, "rookery.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(data=os.path.join(tmp, "data")))
    for user, pw in [("alice", "alice-pw"), ("bob", "bob-pw")]:
        subprocess.run([BIN, "--config", cfg, "register", user, "localhost", pw], check=True, capture_output=True)
    proc = subprocess.Popen([BIN, "--config", cfg], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"C2s on 127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
            break
    if port is None:
        proc.kill()
        raise RuntimeError("rookery did not report its c2s port")
    yield Server(proc, port, cfg)
    proc.terminate()
    try:
        assert proc.wait(timeout=5) == 0, "rookery did not exit cleanly on SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
