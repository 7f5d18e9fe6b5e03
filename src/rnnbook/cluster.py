"""A cluster of worker processes on this machine, as ``TF_CONFIG`` describes one.

``tf.distribute.MultiWorkerMirroredStrategy`` runs one process per worker;
each learns the whole cluster, and which worker it is, from the environment
variable ``TF_CONFIG`` (chapter 9, "Two workers"). `launch` starts such a
cluster on localhost: `num_workers` copies of one command on free ports,
each with its own ``TF_CONFIG``, and it stops every one of them before it
returns, whatever happened (a worker that fails, one that hangs, the
deadline, an exception in the caller). `read_tf_config` is the other end:
it checks a worker's ``TF_CONFIG`` and says what is wrong with it, before
TensorFlow's own, less helpful errors would.
"""

import contextlib
import dataclasses
import json
import os
import pathlib
import signal
import socket
import subprocess
import time

__all__ = [
    "TF_CONFIG_VARIABLE",
    "Worker",
    "free_ports",
    "tf_config",
    "read_tf_config",
    "check_port_free",
    "launch",
]

TF_CONFIG_VARIABLE = "TF_CONFIG"
LOCALHOST = "localhost"
_EXAMPLE = (
    '{"cluster": {"worker": ["localhost:12345", "localhost:12346"]},'
    ' "task": {"type": "worker", "index": 0}}'
)


@dataclasses.dataclass(frozen=True)
class Worker:
    """How one worker process of a `launch` ended.

    Attributes:
        index: The worker's index in ``TF_CONFIG`` (0 is the chief).
        returncode: Its exit status; negative for the signal that ended it
            (``-9``: SIGKILL), as in `subprocess`.
        seconds: Wall time from the launch to its exit.
        stopped: True if `launch` had to kill it (deadline, or another
            worker failed and this one did not stop by itself in time).
        log: Everything it wrote to stdout and stderr.
    """

    index: int
    returncode: int
    seconds: float
    stopped: bool
    log: str

    @property
    def succeeded(self):
        return self.returncode == 0


def free_ports(count):
    """`count` distinct TCP ports on localhost that nothing listens on now.

    The operating system picks them (binding port 0). Another process could
    take one before the worker binds it; the worker then stops with the
    error of `check_port_free`.
    """
    with contextlib.ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind((LOCALHOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]


def tf_config(ports, index):
    """The ``TF_CONFIG`` (a JSON string) of worker `index` of a localhost cluster."""
    return json.dumps(
        {
            "cluster": {"worker": [f"{LOCALHOST}:{port}" for port in ports]},
            "task": {"type": "worker", "index": index},
        }
    )


def read_tf_config(text=None):
    """Check a ``TF_CONFIG``; return the workers' addresses and this worker's index.

    `text` None reads the environment variable. Only the layout that
    MultiWorkerMirroredStrategy needs is accepted: a ``cluster`` with a list
    of ``worker`` addresses ("host:port"), and a ``task`` of type
    ``worker`` with an index into that list. Anything else raises a
    ValueError that says what was wrong and shows a valid example.
    """
    if text is None:
        text = os.environ.get(TF_CONFIG_VARIABLE)
        if not text:
            raise ValueError(
                f"{TF_CONFIG_VARIABLE} is not set: every worker needs it, for"
                f" example {_EXAMPLE}."
            )

    def bad(what):
        return ValueError(
            f"{TF_CONFIG_VARIABLE} {what}. It should look like {_EXAMPLE}."
        )

    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise bad(f"is not JSON ({error.msg} at character {error.pos})") from None
    if not isinstance(parsed, dict):
        raise bad("is not a JSON object")
    workers = (parsed.get("cluster") or {}).get("worker")
    if not isinstance(workers, list) or not workers:
        raise bad('has no "cluster": {"worker": [...]} list of addresses')
    for address in workers:
        host, _, port = str(address).rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise bad(f'has the worker address {address!r}, which is not "host:port"')
    if len(set(workers)) < len(workers):
        raise bad(f"lists an address twice in {workers}")
    task = parsed.get("task")
    if not isinstance(task, dict) or task.get("type") != "worker":
        raise bad('needs "task": {"type": "worker", "index": ...}')
    index = task.get("index")
    if not isinstance(index, int) or isinstance(index, bool):
        raise bad(f"has the task index {index!r}, which is not an integer")
    if not 0 <= index < len(workers):
        raise bad(
            f"has the task index {index}, but its cluster lists {len(workers)}"
            f" worker(s) (indices 0 to {len(workers) - 1})"
        )
    return workers, index


def check_port_free(address):
    """Raise an OSError that says so if `address` ("host:port") is taken here.

    TensorFlow's own message for a taken port is a gRPC "Could not start
    server" without the port; a worker calls this before it starts.
    Addresses of other hosts are not checked.
    """
    host, _, port = address.rpartition(":")
    if host not in (LOCALHOST, "127.0.0.1", socket.gethostname()):
        return
    with socket.socket() as sock:
        try:
            sock.bind((host, int(port)))
        except OSError as error:
            raise OSError(
                f"Port {port} ({address} in {TF_CONFIG_VARIABLE}) is already in use"
                f" on this machine ({error.strerror}): stop the process that holds"
                " it, or give this worker another port in every worker's"
                f" {TF_CONFIG_VARIABLE}."
            ) from None


def launch(command, num_workers, log_dir, *, timeout, grace=60.0, env=None):
    """Run `command` as `num_workers` workers on localhost; return how each ended.

    Every worker gets the ``TF_CONFIG`` of its index on free ports, runs in
    its own process group and writes its output to
    ``log_dir/worker-<index>.log``. `launch` waits until all have exited,
    with two limits: `timeout` seconds in all, and `grace` seconds for the
    others once one has failed (a worker left waiting for a dead peer stops
    by itself when its collective operations time out; after `grace` it is
    killed). Whatever happens, no worker process outlives the call.

    Args:
        command: The program and its arguments, a list, as for `subprocess`.
        num_workers: How many workers, at least 1.
        log_dir: Folder for the logs (created).
        timeout: Seconds after which every worker still running is killed.
        grace: Seconds the others get after the first failure.
        env: The workers' environment; None means this process's.

    Returns:
        A list of `Worker`, by index.
    """
    if not isinstance(num_workers, int) or num_workers < 1:
        raise ValueError(
            f"num_workers must be a positive integer (one process per worker),"
            f" got {num_workers!r}."
        )
    log_dir = pathlib.Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    ports = free_ports(num_workers)
    started = time.monotonic()
    processes, ended = [], {}
    try:
        for index in range(num_workers):
            with open(log_dir / f"worker-{index}.log", "w") as log:
                processes.append(
                    subprocess.Popen(
                        command,
                        env={
                            **(os.environ if env is None else env),
                            TF_CONFIG_VARIABLE: tf_config(ports, index),
                        },
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # a group of its own, to kill
                    )
                )
        deadline = started + timeout
        while len(ended) < num_workers and time.monotonic() < deadline:
            for index, process in enumerate(processes):
                if index not in ended and process.poll() is not None:
                    ended[index] = (process.returncode, time.monotonic() - started)
                    if process.returncode != 0:
                        deadline = min(deadline, time.monotonic() + grace)
            time.sleep(0.05)
    finally:
        for process in processes:
            _kill_group(process)
    return [
        Worker(
            index=index,
            returncode=ended.get(index, (process.returncode, None))[0],
            seconds=ended.get(index, (None, time.monotonic() - started))[1],
            stopped=index not in ended,
            log=(log_dir / f"worker-{index}.log").read_text(errors="replace"),
        )
        for index, process in enumerate(processes)
    ]


def _kill_group(process):
    """Kill `process` and everything it started (its process group); reap it.

    The group is killed even if its leader has exited: a child it started
    may still be running.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
