"""``tf.distribute``: replicas in one process, and workers in several (chapter 9).

In one process: `split_cpu` makes TensorFlow see this machine's CPU as
several logical devices, so that ``tf.distribute.MirroredStrategy`` has
replicas to mirror a model over without a GPU, and `first_losses` trains a
fresh model for a few steps under a strategy with ``fit``, so that one
device and several replicas can be compared step by step.

In several: under ``MultiWorkerMirroredStrategy`` Keras 3's ``fit`` fails
at its first step (keras-team/keras#20585), so `train_steps` is a training
loop of its own (``strategy.run``, ``tf.GradientTape``, the loss averaged
over the global batch), which checkpoints and resumes. `run_workers`
launches it as a job of local worker processes (`rnnbook.cluster`), and
``python -m rnnbook.distribute`` is the same from a shell; with ``--worker``
it is one worker of a cluster that ``TF_CONFIG`` describes, as on each
machine of a real one.
"""

import argparse
import dataclasses
import json
import os
import pathlib
import re
import shutil
import signal
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from rnnbook import cluster, models, training

__all__ = [
    "split_cpu",
    "first_losses",
    "Steps",
    "multi_worker_strategy",
    "train_steps",
    "Failure",
    "Job",
    "run_workers",
    "main",
]

# Seconds a collective operation (an all-reduce) may wait for its peers
# before it fails: without a limit, a worker whose peer died would wait
# forever for its share of the sum.
COLLECTIVE_TIMEOUT = 30.0


def split_cpu(num_devices):
    """Split the CPU into `num_devices` logical devices; return their names.

    Must run before TensorFlow has set up its devices (before the first
    tensor, model or strategy is created in the process).
    """
    if not isinstance(num_devices, int) or num_devices < 1:
        raise ValueError(
            f"num_devices must be a positive integer, got {num_devices!r}."
        )
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices
        )
    except RuntimeError as exc:
        if len(tf.config.list_logical_devices("CPU")) == num_devices:
            return [device.name for device in tf.config.list_logical_devices("CPU")]
        raise RuntimeError(
            "TensorFlow has already set up its devices, so the CPU can no longer be"
            f" split into {num_devices}. Restart the kernel (or process) and call"
            " split_cpu before anything else uses TensorFlow."
        ) from exc
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def first_losses(
    strategy,
    build,
    images,
    labels,
    *,
    global_batch_size,
    num_steps,
    learning_rate,
    seed,
):
    """Build and compile a model under `strategy`; return its first steps' losses.

    The steps take consecutive batches of `global_batch_size` from `images`
    and `labels` (no shuffling), so that any two strategies see the same
    data in the same order. Under a strategy with n replicas, each replica
    computes the gradient of its ``global_batch_size / n`` images; Keras
    scales each replica's loss by its share of the global batch, so the sum
    of the replicas' gradients (the all-reduce) is the gradient of the
    global batch's mean loss, as on one device.
    """
    _check_batches(strategy, images, global_batch_size, num_steps)
    keras.utils.set_random_seed(seed)
    recipe = training.Recipe(
        epochs=1,
        batch_size=global_batch_size,
        learning_rate=learning_rate,
        seed=seed,
        schedule="constant",
    )
    with strategy.scope():
        model = training.compile_model(build(), recipe)
    losses = []
    for step in range(num_steps):
        # `fit`, not `train_on_batch`: fit splits each batch over the replicas, while
        # train_on_batch would hand every replica the whole batch.
        batch = slice(step * global_batch_size, (step + 1) * global_batch_size)
        history = model.fit(
            images[batch],
            labels[batch],
            batch_size=global_batch_size,
            shuffle=False,
            verbose=0,
        )
        losses.append(history.history["loss"][0])
    return np.array(losses)


def _check_batches(strategy, images, global_batch_size, num_steps):
    """Raise if the steps need more images, or the batch does not split evenly."""
    if num_steps * global_batch_size > len(images):
        raise ValueError(
            f"{num_steps} steps of {global_batch_size} need"
            f" {num_steps * global_batch_size} images, got {len(images)}."
        )
    if global_batch_size % strategy.num_replicas_in_sync:
        raise ValueError(
            f"global_batch_size {global_batch_size} does not split evenly over"
            f" {strategy.num_replicas_in_sync} replicas."
        )


@dataclasses.dataclass
class Steps:
    """What `train_steps` ran on one worker.

    Attributes:
        first_step: The step it started from: 0, or the step of the
            checkpoint it resumed.
        losses: The mean loss over the global batch, of each step it ran.
        seconds: The wall time of each step (the first includes tracing).
        weights: The model's weights after the last step.
    """

    first_step: int
    losses: np.ndarray
    seconds: np.ndarray
    weights: list


def multi_worker_strategy(timeout_seconds=COLLECTIVE_TIMEOUT):
    """A ``MultiWorkerMirroredStrategy`` for the cluster ``TF_CONFIG`` describes.

    ``TF_CONFIG`` and this worker's port are checked first
    (`rnnbook.cluster.read_tf_config`, `rnnbook.cluster.check_port_free`),
    so that a wrong cluster fails with a message that says what is wrong.
    Every collective operation fails after `timeout_seconds` instead of
    waiting forever for a peer that is gone.
    """
    addresses, index = cluster.read_tf_config()
    cluster.check_port_free(addresses[index])
    return tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(
            timeout_seconds=timeout_seconds
        )
    )


def train_steps(
    strategy,
    build,
    images,
    labels,
    *,
    global_batch_size,
    num_steps,
    learning_rate,
    seed,
    checkpoint_dir=None,
    checkpoint_every=1,
    after_step=None,
):
    """Train a model built under `strategy` for `num_steps` steps; return `Steps`.

    Step ``s`` takes images ``s * global_batch_size`` to
    ``(s + 1) * global_batch_size`` (no shuffling), split evenly over the
    strategy's replicas in the order of their ids, so that every strategy
    and every number of workers sees the same global batches. Each replica's
    loss is the sum of its examples' losses divided by the global batch
    size (``tf.nn.compute_average_loss``), so the all-reduced sum of the
    replicas' gradients is the gradient of the global batch's mean loss.
    The optimizer is Adam at a constant `learning_rate`.

    With a `checkpoint_dir`, the model, the optimizer and the step are saved
    there every `checkpoint_every` steps (``tf.train.CheckpointManager``)
    and, if it holds a checkpoint, restored first: a job restarted after a
    failure goes on from its last checkpoint. Every worker takes part in
    saving (the chief writes to `checkpoint_dir`, the others to a folder
    they delete); every worker restores the chief's. `after_step(step)`, if
    given, is called after each step and its checkpoint.
    """
    _check_batches(strategy, images, global_batch_size, num_steps)
    num_replicas = strategy.num_replicas_in_sync
    keras.utils.set_random_seed(seed)
    with strategy.scope():
        model = build()
        model.build((None, *images.shape[1:]))
        optimizer = keras.optimizers.Adam(learning_rate)
        optimizer.build(model.trainable_variables)
    per_example_loss = keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction=None
    )

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.nn.compute_average_loss(
                per_example_loss(y, model(x, training=True)),
                global_batch_size=global_batch_size,
            )
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    @tf.function
    def step(x, y):
        losses = strategy.run(replica_step, args=(x, y))
        return strategy.reduce("SUM", losses, axis=None)

    def batch(index):
        share = global_batch_size // num_replicas

        def replica_share(context):
            start = index * global_batch_size + context.replica_id_in_sync_group * share
            return images[start : start + share], labels[start : start + share]

        return strategy.experimental_distribute_values_from_function(replica_share)

    manager = None
    if checkpoint_dir is not None:
        manager, cleanup = _checkpoints(strategy, model, optimizer, checkpoint_dir)
    first_step = int(optimizer.iterations.numpy())
    losses, seconds = [], []
    for index in range(first_step, num_steps):
        start = time.perf_counter()
        losses.append(float(step(*batch(index))))
        seconds.append(time.perf_counter() - start)
        if manager is not None and (index + 1) % checkpoint_every == 0:
            manager.save(checkpoint_number=index + 1)
            cleanup()
        if after_step is not None:
            after_step(index + 1)
    return Steps(
        first_step=first_step,
        losses=np.array(losses),
        seconds=np.array(seconds),
        weights=[np.asarray(w) for w in model.get_weights()],
    )


def _checkpoints(strategy, model, optimizer, checkpoint_dir):
    """A CheckpointManager for this worker, restored from the chief's latest.

    Returns the manager and a function that removes what a worker other
    than the chief wrote (it has to save, but only the chief's copy is
    kept). The step is the optimizer's iteration count.
    """
    checkpoint_dir = pathlib.Path(checkpoint_dir)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    latest = tf.train.latest_checkpoint(checkpoint_dir)
    if latest is not None:
        checkpoint.restore(latest).assert_existing_objects_matched()
    resolver = strategy.cluster_resolver
    chief = resolver is None or resolver.task_id == 0
    own = checkpoint_dir if chief else checkpoint_dir / f".worker-{resolver.task_id}"
    manager = tf.train.CheckpointManager(checkpoint, own, max_to_keep=1)

    def cleanup():
        if not chief:
            shutil.rmtree(own, ignore_errors=True)

    return manager, cleanup


@dataclasses.dataclass(frozen=True)
class Failure:
    """How a worker's training stopped with an error.

    Attributes:
        step: The step that failed (1 is the first).
        seconds: How long that step ran before the error: the time the
            worker took to notice that a peer was gone.
        message: What happened, in one line.
    """

    step: int
    seconds: float
    message: str


@dataclasses.dataclass
class Job:
    """How a `run_workers` job went.

    Attributes:
        workers: How each worker process ended (`rnnbook.cluster.Worker`).
        steps: What each worker trained (`Steps`), None for a worker that
            did not finish.
        failures: How each worker's training failed (`Failure`), None for a
            worker that finished, or that died without a word.
        global_batch_size: Images per step, over all workers.
    """

    workers: list
    steps: list
    failures: list
    global_batch_size: int

    @property
    def succeeded(self):
        return all(worker.succeeded for worker in self.workers)

    @property
    def images_per_second(self):
        """Images per second of the whole job, from the chief's median step.

        The workers step in lockstep (every step ends with an all-reduce),
        so one worker's step time is the job's. The first step is left out:
        it traces the step function.
        """
        return self.global_batch_size / float(np.median(self.steps[0].seconds[1:]))

    def failure(self):
        """The last lines of the first failed worker's log, or None."""
        for worker in self.workers:
            if not worker.succeeded:
                tail = "\n".join(worker.log.strip().splitlines()[-3:])
                return f"worker {worker.index} (exit {worker.returncode}):\n{tail}"
        return None


def run_workers(
    num_workers,
    data,
    out_dir,
    *,
    kind,
    num_units,
    num_layers,
    global_batch_size,
    num_steps,
    learning_rate,
    seed,
    checkpoint_dir=None,
    checkpoint_every=1,
    fault=None,
    fault_after=1,
    collective_timeout=COLLECTIVE_TIMEOUT,
    timeout=600.0,
):
    """Train ``models.stack(kind, num_units, num_layers)`` with `num_workers` workers.

    Each worker is a process on this machine running
    ``python -m rnnbook.distribute --worker`` (`train_steps` under
    `multi_worker_strategy`) on `data`, an ``.npz`` file of ``images`` and
    ``labels``; `rnnbook.cluster.launch` starts them and stops them all,
    also when one fails or the `timeout` (seconds) passes. Each worker
    writes what it trained to `out_dir`.

    `fault` is a drill: right after step `fault_after` and its checkpoint,
    the last worker either dies (``"kill"``: SIGKILL, which it cannot catch
    or clean up after; its sockets close, so its peers learn at once) or
    freezes (``"freeze"``: SIGSTOP, as a machine that hangs or drops off
    the network; its sockets stay open, so only the collective timeout
    stops its peers).

    Returns:
        A `Job`.
    """
    out_dir = pathlib.Path(out_dir)
    arguments = {
        "data": data,
        "out": out_dir,
        "kind": kind,
        "units": num_units,
        "layers": num_layers,
        "global-batch-size": global_batch_size,
        "steps": num_steps,
        "learning-rate": learning_rate,
        "seed": seed,
        "checkpoint-dir": checkpoint_dir,
        "checkpoint-every": checkpoint_every,
        "fault": fault,
        "fault-after": fault_after if fault else None,
        "collective-timeout": collective_timeout,
    }
    command = [sys.executable, "-m", "rnnbook.distribute", "--worker"]
    for name, value in arguments.items():
        if value is not None:
            command += [f"--{name}", str(value)]
    for old in out_dir.glob("worker-*"):
        old.unlink()
    # A worker whose peer is gone stops by itself within the collective
    # timeout; one that does not by then (a frozen one) is killed.
    workers = cluster.launch(
        command, num_workers, out_dir, timeout=timeout, grace=collective_timeout + 5
    )
    saved = [_read(out_dir, worker.index) for worker in workers]
    return Job(
        workers=workers,
        steps=[steps for steps, _ in saved],
        failures=[failure for _, failure in saved],
        global_batch_size=global_batch_size,
    )


def _write(out_dir, index, *, steps=None, failure=None):
    """Save what worker `index` trained (`steps`), or how it failed, for `_read`."""
    path = pathlib.Path(out_dir) / f"worker-{index}.json"
    if failure is not None:
        path.write_text(json.dumps({"failure": dataclasses.asdict(failure)}))
        return
    np.savez(path.with_suffix(".npz"), *steps.weights)
    record = {
        "first_step": steps.first_step,
        "losses": steps.losses.tolist(),
        "seconds": steps.seconds.tolist(),
    }
    path.write_text(json.dumps({"steps": record}))


def _read(out_dir, index):
    """What worker `index` saved: (`Steps` or None, `Failure` or None)."""
    path = pathlib.Path(out_dir) / f"worker-{index}.json"
    if not path.exists():
        return None, None
    record = json.loads(path.read_text())
    if "failure" in record:
        return None, Failure(**record["failure"])
    with np.load(path.with_suffix(".npz")) as arrays:
        weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
    steps = record["steps"]
    return (
        Steps(
            first_step=steps["first_step"],
            losses=np.array(steps["losses"]),
            seconds=np.array(steps["seconds"]),
            weights=weights,
        ),
        None,
    )


# The fault drills of `run_workers`: the signal the last worker sends itself.
_FAULTS = {"kill": signal.SIGKILL, "freeze": signal.SIGSTOP}


def _describe(error):
    """One line for a failed collective: which peer, and what the link said.

    TensorFlow's message runs to dozens of lines of gRPC detail and opens
    with "Graph execution error:"; a reader needs the peer and the reason.
    """
    peer = re.search(r"remote target (/job:\S+)", error.message)
    reason = re.search(r'grpc_message:"([^"]*)"', error.message)
    # Otherwise the last line of prose: not a node, a traceback or a header.
    prose = [
        line.strip()
        for line in error.message.splitlines()
        if line.strip()
        and not line[0].isspace()
        and not line.startswith(("[[", "Graph execution error", "Detected at node"))
        and "could be from a previous operation" not in line
    ]
    collective = [line for line in prose if "ollective" in line]  # "Collective has..."
    what = reason.group(1) if reason else (collective or prose or [error.message])[-1]
    return (
        f"{type(error).__name__}"
        + (f" from {peer.group(1)}" if peer else "")
        + f": {what.strip().rstrip('.')}. A worker is gone or unreachable:"
        " restart the whole job; with --checkpoint-dir it goes on from its last"
        " checkpoint."
    )


def _worker(options):
    """One worker: train as `options` say under the strategy of ``TF_CONFIG``."""
    try:
        strategy = multi_worker_strategy(options.collective_timeout)
    except (ValueError, OSError) as error:
        sys.exit(f"This worker cannot start: {error}")
    addresses, index = cluster.read_tf_config()
    with np.load(options.data) as arrays:
        images, labels = arrays["images"], arrays["labels"]
    done = {"step": 0, "at": time.perf_counter()}

    def after_step(step):
        done.update(step=step, at=time.perf_counter())
        print(f"worker {index}: step {step} done", flush=True)
        is_last = index == len(addresses) - 1
        if options.fault and step == options.fault_after and is_last:
            print(f"worker {index}: fault drill, {options.fault}", flush=True)
            os.kill(os.getpid(), _FAULTS[options.fault])

    try:
        steps = train_steps(
            strategy,
            lambda: models.stack(options.kind, options.units, options.layers),
            images,
            labels,
            global_batch_size=options.global_batch_size,
            num_steps=options.steps,
            learning_rate=options.learning_rate,
            seed=options.seed,
            checkpoint_dir=options.checkpoint_dir,
            checkpoint_every=options.checkpoint_every,
            after_step=after_step,
        )
    except tf.errors.OpError as error:
        failure = Failure(
            step=done["step"] + 1,
            seconds=time.perf_counter() - done["at"],
            message=_describe(error),
        )
        print(error.message, flush=True)
        _write(options.out, index, failure=failure)
        sys.exit(
            f"worker {index}: step {failure.step} failed after"
            f" {failure.seconds:.1f} s: {failure.message}"
        )
    _write(options.out, index, steps=steps)


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m rnnbook.distribute",
        description="Train the book's model with MultiWorkerMirroredStrategy:"
        " --workers N local worker processes, or (--worker) one worker of the"
        " cluster that TF_CONFIG describes.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--workers", type=int, help="launch N workers on localhost")
    mode.add_argument(
        "--worker", action="store_true", help="be one worker of TF_CONFIG's cluster"
    )
    parser.add_argument("--data", required=True, help=".npz of images and labels")
    parser.add_argument("--out", required=True, type=pathlib.Path, help="results")
    parser.add_argument(
        "--kind", default="lstm", choices=sorted(models.RECURRENT_LAYERS)
    )
    parser.add_argument("--units", type=int, default=150)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--global-batch-size", type=int, default=150)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-dir", type=pathlib.Path)
    parser.add_argument("--checkpoint-every", type=int, default=1)
    parser.add_argument(
        "--fault", choices=sorted(_FAULTS), help="fault drill of the last worker"
    )
    parser.add_argument(
        "--fault-after", type=int, default=1, help="the step after which it strikes"
    )
    parser.add_argument("--collective-timeout", type=float, default=COLLECTIVE_TIMEOUT)
    parser.add_argument("--timeout", type=float, default=600.0, help="whole job, s")
    return parser


def main(argv=None):
    """``python -m rnnbook.distribute``: launch a job, or be one of its workers."""
    parser = _parser()
    options = parser.parse_args(argv)
    if options.worker:
        return _worker(options)
    if options.workers < 1:
        parser.error(f"--workers must be at least 1, got {options.workers}.")
    job = run_workers(
        options.workers,
        options.data,
        options.out,
        kind=options.kind,
        num_units=options.units,
        num_layers=options.layers,
        global_batch_size=options.global_batch_size,
        num_steps=options.steps,
        learning_rate=options.learning_rate,
        seed=options.seed,
        checkpoint_dir=options.checkpoint_dir,
        checkpoint_every=options.checkpoint_every,
        fault=options.fault,
        fault_after=options.fault_after,
        collective_timeout=options.collective_timeout,
        timeout=options.timeout,
    )
    for worker in job.workers:
        killed = " (killed by the launcher)" if worker.stopped else ""
        print(
            f"worker {worker.index}: exit {worker.returncode} after"
            f" {worker.seconds:.1f} s{killed}"
        )
    if not job.succeeded:
        sys.exit(job.failure())
    print(f"losses: {np.array2string(job.steps[0].losses, precision=5)}")
    print(f"{job.images_per_second:.0f} images/s")


if __name__ == "__main__":
    main()
