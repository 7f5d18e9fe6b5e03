"""``tf.distribute`` on one CPU: logical devices, and a check that replicas agree.

`split_cpu` makes TensorFlow see this machine's CPU as several logical
devices, so that ``tf.distribute.MirroredStrategy`` has replicas to mirror a
model over without a GPU. `first_losses` trains a fresh model for a few
steps under a strategy, so that one device and several replicas can be
compared step by step (chapter 9).
"""

import keras
import numpy as np
import tensorflow as tf

from rnnbook import training

__all__ = [
    "split_cpu",
    "first_losses",
]


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
