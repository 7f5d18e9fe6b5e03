"""The README's command to open the chapters works in the environment it installs."""

import os
import pathlib
import re
import selectors
import socket
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).parent.parent


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_jupyter_lab_opens_the_chapters():
    command = re.search(r"^(jupyter lab \S+)", (ROOT / "README.md").read_text(), re.M)
    assert command, "the README no longer says how to open the chapters"
    assert command.group(1) == "jupyter lab chapters/"
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "chapters/", "--no-browser"]
        + ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={free_port()}"]
        + ["--ServerApp.open_browser=False"]
        + (["--allow-root"] if os.geteuid() == 0 else []),  # CI runs as root
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = []
    try:
        watch = selectors.DefaultSelector()
        watch.register(server.stderr, selectors.EVENT_READ)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            if watch.select(timeout=1):
                log.append(server.stderr.readline())
                if "is running at" in log[-1]:
                    break
        assert any("is running at" in line for line in log), "".join(log)[-3000:]
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
