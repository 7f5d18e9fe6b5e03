"""MultiWorkerMirroredStrategy with worker processes on this machine (chapter 9).

Every job is a real cluster: `run_workers` starts one process per worker with its own
TF_CONFIG on free ports. The model is small (LSTM 2x16) so that the jobs take seconds.
"""

import pathlib

import numpy as np
import pytest
import tensorflow as tf

from rnnbook import distribute, models

SETTINGS = {
    "kind": "lstm",
    "num_units": 16,
    "num_layers": 2,
    "num_steps": 6,
    "learning_rate": 2e-3,
    "seed": 0,
    "timeout": 300,
}


def worker_processes():
    """Command lines of the worker processes running on this machine now."""
    found = []
    for cmdline in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:  # it exited while we looked
            continue
        if b"rnnbook.distribute" in words and b"--worker" in words:
            found.append(b" ".join(words).decode())
    return found


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return (
        rng.uniform(size=(200, 28, 28)).astype("float32"),
        rng.integers(0, 10, 200),
    )


def one_process(data, global_batch_size):
    """The losses of `train_steps` in this process, under no strategy."""
    images, labels = data
    settings = {key: SETTINGS[key] for key in ("num_steps", "learning_rate", "seed")}
    steps = distribute.train_steps(
        tf.distribute.get_strategy(),
        lambda: models.stack(
            SETTINGS["kind"], SETTINGS["num_units"], SETTINGS["num_layers"]
        ),
        images,
        labels,
        global_batch_size=global_batch_size,
        **settings,
    )
    return steps.losses


@pytest.fixture(scope="module")
def jobs(tmp_path_factory, data):
    """Every job of these tests, run once: {name: Job}."""
    folder = tmp_path_factory.mktemp("multi_worker")
    path = folder / "data.npz"
    np.savez(path, images=data[0], labels=data[1])
    checkpoints = folder / "checkpoints"

    def run(name, num_workers, global_batch_size=32, **options):
        job = distribute.run_workers(
            num_workers,
            path,
            folder / name,
            global_batch_size=global_batch_size,
            **SETTINGS,
            **options,
        )
        assert not worker_processes(), f"{name} left workers behind"
        return job

    return {
        "two": run("two", 2),
        "killed": run(
            "killed", 2, checkpoint_dir=checkpoints, fault="kill", fault_after=3
        ),
        "resumed": run("resumed", 2, checkpoint_dir=checkpoints),
    }


def relative_difference(a, b):
    return float(np.max(np.abs(a - b) / np.abs(a)))


def test_two_workers_give_one_process_losses(jobs, data):
    # Same global batches, same seed: the two workers' gradients are summed by an
    # all-reduce instead of within one batch, which changes float32 sums in the last
    # bits (epsilon 1.2e-7); 1e-5 relative leaves room for six Adam steps to amplify
    # that, while a wrong split of the batch moves the losses by far more (next test).
    assert jobs["two"].succeeded
    one, two = one_process(data, 32), jobs["two"].steps[0].losses
    assert len(one) == len(two) == SETTINGS["num_steps"]
    assert relative_difference(one, two) < 1e-5
    np.testing.assert_array_equal(two, jobs["two"].steps[1].losses)  # one job


def test_a_different_global_batch_gives_different_losses(data):
    one, half = one_process(data, 32), one_process(data, 16)
    assert relative_difference(one, half) > 1e-3


def test_a_killed_worker_stops_its_peer_with_a_clear_error(jobs):
    job = jobs["killed"]
    chief, killed = job.workers
    assert killed.returncode == -9 and chief.returncode == 1
    assert not chief.stopped, "the chief had to be killed: it hung"
    # The worker died after its step 3; the chief may still have been finishing that
    # step's all-reduce (the workers are in lockstep only to within one message).
    failure = job.failures[0]
    assert failure.step in (3, 4) and failure.seconds < distribute.COLLECTIVE_TIMEOUT
    assert "A worker is gone or unreachable" in failure.message
    assert "restart the whole job" in chief.log


def test_the_restarted_job_ends_where_the_uninterrupted_one_does(jobs):
    resumed, uninterrupted = jobs["resumed"].steps[0], jobs["two"].steps[0]
    assert jobs["resumed"].succeeded and resumed.first_step == 3
    np.testing.assert_allclose(resumed.losses, uninterrupted.losses[3:], rtol=1e-6)
    for after, expected in zip(resumed.weights, uninterrupted.weights, strict=True):
        np.testing.assert_allclose(after, expected, rtol=1e-5, atol=1e-6)
