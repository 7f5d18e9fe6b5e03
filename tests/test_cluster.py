"""rnnbook.cluster: TF_CONFIG checks, and a launcher that leaves nothing behind."""

import json
import socket
import sys
import time

import pytest

from rnnbook import cluster


def config(workers=("localhost:2222", "localhost:2223"), index=0, kind="worker"):
    return json.dumps(
        {"cluster": {"worker": list(workers)}, "task": {"type": kind, "index": index}}
    )


def test_tf_config_round_trips():
    ports = cluster.free_ports(3)
    assert len(set(ports)) == 3
    workers, index = cluster.read_tf_config(cluster.tf_config(ports, 2))
    assert workers == [f"localhost:{port}" for port in ports] and index == 2


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "is not a JSON object"),
        ('{"task": {"type": "worker", "index": 0}}', '"cluster"'),
        (config(workers=["localhost"]), 'not "host:port"'),
        (config(workers=["localhost:1", "localhost:1"]), "lists an address twice"),
        (config(kind="chief"), '"type": "worker"'),
        (config(index="0"), "not an integer"),
        (config(index=2), "lists 2 worker(s) (indices 0 to 1)"),
    ],
)
def test_bad_tf_config_says_what_is_wrong(text, says):
    with pytest.raises(ValueError, match="It should look like") as error:
        cluster.read_tf_config(text)
    assert says in str(error.value)


def test_missing_tf_config(monkeypatch):
    monkeypatch.delenv(cluster.TF_CONFIG_VARIABLE, raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG is not set"):
        cluster.read_tf_config()


def test_a_taken_port_is_named():
    with socket.socket() as holder:
        holder.bind(("localhost", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(OSError, match=f"Port {port} .* is already in use"):
            cluster.check_port_free(f"localhost:{port}")
    cluster.check_port_free(f"localhost:{port}")  # free again


@pytest.mark.parametrize("num_workers", [0, -1, 1.5])
def test_launch_needs_at_least_one_worker(num_workers, tmp_path):
    with pytest.raises(ValueError, match="positive integer"):
        cluster.launch(["true"], num_workers, tmp_path, timeout=5)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# Worker 0 starts a grandchild that would outlive it, then fails; worker 1 hangs.
SCRIPT = """
import json, os, subprocess, sys, time
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
if index == 0:
    child = subprocess.Popen(["sleep", "600"])
    print("grandchild", child.pid, flush=True)
    sys.exit(3)
time.sleep(600)
"""


def test_launch_stops_every_process_after_a_failure(tmp_path):
    start = time.monotonic()
    workers = cluster.launch(
        [sys.executable, "-c", SCRIPT], 2, tmp_path, timeout=60, grace=1
    )
    assert time.monotonic() - start < 15
    first, second = workers
    assert first.returncode == 3 and not first.stopped and not first.succeeded
    assert second.stopped and second.returncode == -9
    grandchild = int(first.log.split("grandchild")[1].split()[0])
    assert not alive(grandchild)
    assert (tmp_path / "worker-0.log").read_text() == first.log


def test_launch_kills_at_the_deadline(tmp_path):
    workers = cluster.launch(
        [sys.executable, "-c", "import time; time.sleep(600)"], 1, tmp_path, timeout=1
    )
    assert workers[0].stopped and workers[0].returncode == -9
