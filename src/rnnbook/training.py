"""Train and evaluate with timing; histories as DataFrames; results files.

`fit` runs ``model.fit`` on a `rnnbook.data.Splits`, one printed line per
epoch, and returns a `Run`: the per-epoch history with wall-clock seconds,
the test accuracy on the profile's test images, and the figures every
chapter reports (chapter 2, "Training").
"""

import dataclasses
import json
import math
import pathlib
import time

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from rnnbook import config, models

# Keras runs this many training steps per call from Python into TensorFlow,
# instead of one: the same steps in the same order, with less per-step
# overhead. Callbacks then see every tenth batch; the book's see only epochs.
STEPS_PER_EXECUTION = 10

# XLA compiles the training step for batches up to this size (`speed_options`):
# the batches of 50 of the one-layer models, not the 150 of chapter 3.
XLA_MAX_BATCH_SIZE = 64

# Validation and test need no gradients: larger batches run them faster.
EVALUATION_BATCH_SIZE = 500


class EpochTimer(keras.callbacks.Callback):
    """Record the wall-clock seconds of each epoch (training and validation)."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


# The figures `Run.summary` reports after a run's labels, in its order.
SUMMARY_FIELDS = (
    "model",
    "parameters",
    "epochs",
    "batch_size",
    "test_accuracy",
    "training_seconds",
    "seconds_per_epoch",
    "images_per_second",
)


@dataclasses.dataclass
class Run:
    """One training run: what was trained, how it went, how well it scores."""

    model: keras.Model
    history: pd.DataFrame
    batch_size: int
    num_train: int
    test_loss: float
    test_accuracy: float

    @property
    def epochs(self):
        return len(self.history)

    @property
    def seconds_per_epoch(self):
        """The median epoch: robust to the first epoch's one-off graph tracing."""
        return float(self.history["seconds"].median())

    @property
    def images_per_second(self):
        return self.num_train / self.seconds_per_epoch

    def summary(self, **labels):
        """The headline numbers as a flat dict, `labels` first (for tables and JSON)."""
        figures = (
            self.model.name,
            self.model.count_params(),
            self.epochs,
            self.batch_size,
            self.test_accuracy,
            float(self.history["seconds"].sum()),
            self.seconds_per_epoch,
            self.images_per_second,
        )
        return {**labels, **dict(zip(SUMMARY_FIELDS, figures))}


def speed_options(batch_size):
    """The ``compile`` options of the book's training path, chosen by chapter 7's benchmark.

    They change how fast a step runs, not what it computes: Keras runs
    `STEPS_PER_EXECUTION` steps per call, and with batches of at most
    `XLA_MAX_BATCH_SIZE` XLA compiles the training step (``jit_compile=True``),
    fusing each time step's small element-wise operations, which take most of
    the time at that size. With the larger batches of the stacks the
    multiplies dominate, and XLA ran them slower than TensorFlow's own kernels.
    Under a ``tf.distribute`` strategy (chapter 8) Keras runs one step per
    call: its multi-step loop fails there in Keras 3 ("You must feed a value
    for placeholder tensor").
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive number of images, got {batch_size}.")
    steps = 1 if tf.distribute.has_strategy() else STEPS_PER_EXECUTION
    return {"steps_per_execution": steps, "jit_compile": batch_size <= XLA_MAX_BATCH_SIZE}


def batches(images, labels, batch_size, shuffle=False):
    """A ``tf.data`` pipeline of (images, labels) batches, for `fit` and ``evaluate``.

    Keras builds much the same pipeline from NumPy arrays, but with tf.data's
    autotuning on; its background thread then sometimes holds up the end of
    ``fit`` until its next wake-up, which comes at ever longer intervals (chapter 7,
    "A stall in the input pipeline"). Here autotuning is off and one batch is
    prepared ahead. With `shuffle`, the order changes every epoch and follows
    the seed of ``keras.utils.set_random_seed``.
    """
    if len(images) != len(labels):
        raise ValueError(f"Got {len(images)} images but {len(labels)} labels; they must pair up one to one.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive number of images, got {batch_size}.")
    images, labels = tf.constant(images), tf.constant(labels)
    indices = tf.data.Dataset.range(len(images))
    if shuffle:
        indices = indices.shuffle(len(images), reshuffle_each_iteration=True)
    dataset = indices.batch(batch_size).map(lambda i: (tf.gather(images, i), tf.gather(labels, i))).prefetch(1)
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def steps_per_epoch(num_examples, batch_size):
    """How many batches one epoch of `num_examples` takes (the last may be short)."""
    return math.ceil(num_examples / batch_size)


def train(build, splits, *, epochs, batch_size, peak_learning_rate, seed):
    """Seed, build, compile and `fit` a model with the book's recipe (chapter 2).

    `build` is called with no arguments after ``keras.utils.set_random_seed(seed)``,
    so the same seed gives the same initial weights and the same batches. The
    recipe: cross-entropy on logits, Adam with a learning rate that decays from
    `peak_learning_rate` to 0 along a half cosine over all `epochs`.
    """
    keras.utils.set_random_seed(seed)
    model = build()
    decay_steps = epochs * steps_per_epoch(len(splits.x_train), batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(peak_learning_rate, decay_steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        **speed_options(batch_size),
    )
    return fit(model, splits, epochs=epochs, batch_size=batch_size)


def fit(model, splits, *, epochs, batch_size):
    """Train a compiled `model` on `splits` and evaluate it on the test split.

    Prints one line per epoch (no progress bar, so saved outputs stay
    readable). The data goes through `batches`; the training data is shuffled
    each epoch: seed it beforehand with ``keras.utils.set_random_seed``.
    Validation and test run in batches of `EVALUATION_BATCH_SIZE`.
    """
    if not model.compiled:
        raise ValueError(f"Model {model.name!r} is not compiled: call model.compile(...) before fit.")
    timer = EpochTimer()
    history = model.fit(
        batches(splits.x_train, splits.y_train, batch_size, shuffle=True),
        epochs=epochs,
        shuffle=False,  # `batches` shuffles; Keras cannot shuffle a tf.data pipeline
        validation_data=batches(splits.x_validation, splits.y_validation, EVALUATION_BATCH_SIZE),
        callbacks=[timer],
        verbose=2,
    )
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    frame["seconds"] = timer.seconds
    test_loss, test_accuracy = model.evaluate(batches(splits.x_test, splits.y_test, EVALUATION_BATCH_SIZE), verbose=0)[:2]
    return Run(
        model=model,
        history=frame,
        batch_size=batch_size,
        num_train=len(splits.x_train),
        test_loss=float(test_loss),
        test_accuracy=float(test_accuracy),
    )


def accuracy_by_rows(model, images, labels, batch_size=EVALUATION_BATCH_SIZE):
    """Accuracy when `model` must answer after reading only the first k rows, for every k.

    No retraining: the top recurrent layer's hidden state after k steps goes
    through the model's trained output layer, as if the digit ended there
    (chapter 6, "How many rows does it need?"). Returns an array whose entry
    k - 1 is the accuracy after k rows; the last entry is the model's accuracy.
    """
    classifier = model.layers[-1]
    if not isinstance(classifier, keras.layers.Dense):
        raise ValueError(f"Model {model.name!r} must end in a Dense output layer, not {type(classifier).__name__}.")
    probe = models.hidden_states(model)
    correct = []
    for start in range(0, len(images), batch_size):
        states = probe(images[start : start + batch_size])
        states = states[-1] if isinstance(states, list) else states  # the top layer: (batch, time steps, units)
        predictions = np.argmax(np.asarray(classifier(states)), axis=-1)
        correct.append(predictions == np.asarray(labels[start : start + batch_size])[:, None])
    return np.concatenate(correct).mean(axis=0)


def results_dir(profile=None):
    """``results/<profile>/`` at the top of the book (the folder with ``_toc.yml``).

    Found from the working directory upwards, so a chapter run from
    ``chapters/`` writes to the book's results; outside the book, ``./results``.
    """
    profile = profile or config.get_profile()
    here = pathlib.Path.cwd()
    top = next((p for p in (here, *here.parents) if (p / "_toc.yml").is_file()), here)
    return top / "results" / profile.name


def _results_path(chapter, profile):
    return results_dir(profile) / f"{chapter}.json"


def save_results(chapter, summaries, profile=None):
    """Write a chapter's run summaries to ``results/<profile>/<chapter>.json``."""
    profile = profile or config.get_profile()
    path = _results_path(chapter, profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"chapter": chapter, "profile": profile.name, "runs": list(summaries)}
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def read_results(chapter, profile=None):
    """Return what `save_results` wrote for `chapter`, or None if that chapter has not run yet.

    Chapters that compare with an earlier chapter's runs use it, and say in
    their tables which results are missing instead of failing.
    """
    path = _results_path(chapter, profile)
    if not path.is_file():
        return None
    return json.loads(path.read_text())
