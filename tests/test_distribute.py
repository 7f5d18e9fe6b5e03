"""tf.distribute on a CPU split in two. The CPU can only be split before TensorFlow sets
up its devices, which the other tests have long done in this process, so the check runs
in a fresh one.
"""

import json
import subprocess
import sys

import pytest

from rnnbook import distribute

SCRIPT = """
import json
import numpy as np
import tensorflow as tf
from rnnbook import distribute, models

distribute.split_cpu(2)
rng = np.random.default_rng(0)
images = rng.uniform(size=(600, 28, 28)).astype("float32")
labels = rng.integers(0, 10, 600)
def losses(strategy, global_batch_size):
    losses = distribute.first_losses(
        strategy, lambda: models.stack("lstm", 16, 2), images, labels,
        global_batch_size=global_batch_size, num_steps=5, learning_rate=2e-3, seed=0)
    return losses.tolist()
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
try:
    losses(mirrored, 61)
    uneven = "no error"
except ValueError as error:
    uneven = str(error)
print(json.dumps({
    "one_device": losses(tf.distribute.OneDeviceStrategy("/cpu:0"), 60),
    "two_replicas": losses(mirrored, 60),
    "two_replicas_half_batch": losses(mirrored, 30),
    "uneven": uneven,
}))
"""


@pytest.fixture(scope="module")
def result():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_replicas_give_the_one_device_losses(result):
    # Same seed, same global batch: the same arithmetic, except that the two replicas'
    # gradients are summed in a different order. That changes float32 results in the
    # last bits (epsilon 1.2e-7), and five Adam steps can amplify it a little; 1e-5
    # relative leaves room for that, while a wrong split of the batch moves the loss by
    # far more (the next test).
    one, two = result["one_device"], result["two_replicas"]
    assert max(abs(a - b) / a for a, b in zip(one, two, strict=True)) < 1e-5
    assert one[0] != one[-1]  # the steps did train


def test_a_different_global_batch_gives_different_losses(result):
    one, half = result["one_device"], result["two_replicas_half_batch"]
    assert max(abs(a - b) / a for a, b in zip(one, half, strict=True)) > 1e-3


def test_uneven_global_batch_is_a_clear_error(result):
    assert (
        "global_batch_size 61 does not split evenly over 2 replicas" in result["uneven"]
    )


@pytest.mark.parametrize("num_devices", [0, -1, 1.5, "2"])
def test_split_cpu_rejects_bad_counts(num_devices):
    with pytest.raises(ValueError, match="num_devices must be a positive integer"):
        distribute.split_cpu(num_devices)


def test_split_cpu_after_setup_says_how_to_fix():
    import tensorflow as tf

    tf.constant(1.0)  # TensorFlow's devices are set up now
    with pytest.raises(RuntimeError, match="Restart the kernel"):
        distribute.split_cpu(3)
