"""Train and evaluate with timing; histories as DataFrames.

A `Recipe` says how a model is trained (loss, Adam's learning rate and
schedule, epochs, batch size, seed); `train` seeds, builds, compiles and
fits with it. `fit` runs ``model.fit`` on a `rnnbook.data.Splits`, one
printed line per epoch, and returns a `Run`: the per-epoch history with the
wall-clock seconds of training and of validation, the test accuracy on the
profile's test images, and the figures every chapter reports (chapter 3,
"Training"). Chapters do not call `train` directly: they ask the run
registry (`rnnbook.runs`), which trains a run only when it is not recorded.
"""

import dataclasses
import math
import time

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from rnnbook import config, devices, models

__all__ = [
    "STEPS_PER_EXECUTION",
    "XLA_MAX_BATCH_SIZE",
    "EVALUATION_BATCH_SIZE",
    "SUMMARY_FIELDS",
    "LOSSES",
    "SCHEDULES",
    "Recipe",
    "Run",
    "EpochTimer",
    "speed_options",
    "batches",
    "steps_per_epoch",
    "softmax_twice_loss",
    "compile_model",
    "train",
    "fit",
    "accuracy_by_rows",
    "accuracy_on_first_rows",
]

# Keras runs this many training steps per call from Python into TensorFlow,
# instead of one: the same steps in the same order, with less per-step
# overhead. Callbacks then see every tenth batch; the book's see only epochs.
STEPS_PER_EXECUTION = 10

# XLA compiles the training step for batches up to this size (`speed_options`),
# by kind of recurrent layer, as chapter 8's benchmark found it faster: for every
# kind at the batches of 50 of the one-layer models; at the stacks' 150 for the
# GRU only (three separate runs), while the LSTMs ran faster on TensorFlow's own
# kernels there.
XLA_MAX_BATCH_SIZE = {"lstm": 64, "peephole_lstm": 64, "simple_rnn": 64, "gru": 150}

# Validation and test need no gradients: larger batches run them faster.
EVALUATION_BATCH_SIZE = 500


class EpochTimer(keras.callbacks.Callback):
    """Record the wall-clock seconds of each epoch's training and of its validation.

    Keras runs the validation pass inside the epoch (between ``on_test_begin``
    and ``on_test_end``); it is timed on its own so that a run's seconds per
    epoch and images per second measure training alone.
    """

    def on_train_begin(self, logs=None):
        self.seconds, self.validation_seconds = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._validation = time.perf_counter(), 0.0

    def on_test_begin(self, logs=None):
        self._validation_start = time.perf_counter()

    def on_test_end(self, logs=None):
        self._validation += time.perf_counter() - self._validation_start

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start - self._validation)
        self.validation_seconds.append(self._validation)


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
    """One training run: what was trained, how it went, how well it scores.

    `history` has a row per epoch: Keras's metrics, ``seconds`` (the epoch's
    training, without its validation pass) and ``validation_seconds``.
    `model` is None for a run that left no Keras model (the TF1 programs).
    `record` is the `rnnbook.runs.Record` the run was loaded from or saved
    to, if any.
    """

    model: keras.Model | None
    history: pd.DataFrame
    batch_size: int
    num_train: int
    test_loss: float
    test_accuracy: float
    num_test: int = 0
    parameters: int = 0
    name: str = ""
    record: object = None

    def __post_init__(self):
        if self.model is not None:
            self.parameters = self.parameters or self.model.count_params()
            self.name = self.name or self.model.name

    @property
    def epochs(self):
        return len(self.history)

    @property
    def seconds_per_epoch(self):
        """Training seconds of the median epoch, without the first if there are more.

        The first epoch also traces and compiles the training step, so it is
        left out whenever there is another.
        """
        seconds = self.history["seconds"]
        return float((seconds.iloc[1:] if len(seconds) > 1 else seconds).median())

    @property
    def images_per_second(self):
        """Training images per second in the epochs `seconds_per_epoch` counts."""
        return self.num_train / self.seconds_per_epoch

    def summary(self, **labels):
        """The headline numbers as a flat dict, `labels` first (for tables and JSON)."""
        figures = (
            self.name,
            self.parameters,
            self.epochs,
            self.batch_size,
            self.test_accuracy,
            float(self.history["seconds"].sum()),
            self.seconds_per_epoch,
            self.images_per_second,
        )
        return {**labels, **dict(zip(SUMMARY_FIELDS, figures, strict=True))}


def speed_options(batch_size, kind=None, distributed=None, profile=None, gpu=None):
    """The ``compile`` options of the book's training path (chapter 8's benchmark).

    They change how fast a step runs, not what it computes: Keras runs
    `STEPS_PER_EXECUTION` steps per call, and on a CPU, with batches of at
    most ``XLA_MAX_BATCH_SIZE[kind]``, XLA compiles the training step
    (``jit_compile=True``), fusing each time step's small element-wise
    operations, which take most of the time in small batches. With larger
    batches the multiplies dominate, and XLA ran the LSTMs slower than
    TensorFlow's own kernels, the GRU still faster. `kind` is the model's
    recurrent layer (a key of `rnnbook.models.RECURRENT_LAYERS`, as
    `rnnbook.models.kind_of` finds it); None, for a model with none or with
    several, takes the smallest limit. On a GPU XLA stays off: Keras runs its
    fused cuDNN kernels only outside XLA (and `rnnbook.models.unroll_default`
    keeps the layers rolled for them). `gpu` says whether one is in use;
    None asks TensorFlow (`rnnbook.devices.has_gpu`).

    Under a ``tf.distribute`` strategy (chapter 9) Keras runs one step per
    call, as its multi-step loop fails there in Keras 3 ("You must feed a
    value for placeholder tensor"), and XLA stays off: a compiled step cannot
    reach the copy of a variable that lives on another logical device
    ("Trying to access resource ... located in device ... CPU:1 from device
    ... CPU:0"). `distributed` says whether one is in use; None asks
    TensorFlow (``tf.distribute.has_strategy()``). A `profile` without
    ``xla`` (the smoke profile, `rnnbook.config.Profile`) never compiles;
    None means the one ``RNNBOOK_PROFILE`` selects.
    """
    if batch_size < 1:
        raise ValueError(
            f"batch_size must be a positive number of images, got {batch_size}."
        )
    if kind is None:
        xla_max_batch_size = min(XLA_MAX_BATCH_SIZE.values())
    elif kind in XLA_MAX_BATCH_SIZE:
        xla_max_batch_size = XLA_MAX_BATCH_SIZE[kind]
    else:
        raise ValueError(
            f"Unknown kind of layer {kind!r}; choose one of"
            f" {', '.join(XLA_MAX_BATCH_SIZE)} (or None for a model without one)."
        )
    if distributed is None:
        distributed = tf.distribute.has_strategy()
    if distributed:
        return {"steps_per_execution": 1, "jit_compile": False}
    if gpu is None:
        gpu = devices.has_gpu()
    return {
        "steps_per_execution": STEPS_PER_EXECUTION,
        "jit_compile": config.get_profile(profile).xla
        and not gpu
        and batch_size <= xla_max_batch_size,
    }


def batches(images, labels, batch_size, shuffle=False):
    """A ``tf.data`` pipeline of (images, labels) batches, for `fit` and ``evaluate``.

    Keras builds much the same pipeline from NumPy arrays, but with tf.data's
    autotuning on. Its background thread wakes up after 10 ms, 20 ms, 40 ms
    and so on, doubling each time, and ``fit`` waits for it at its end: a
    pass then sometimes ends at the thread's next wake-up rather than when its
    work is done, 0.01 (2^k - 1) s after the pipeline started (0.63, 1.27,
    2.55 ... s). That stall costs most on short passes: the benchmark's
    (`rnnbook.bench`), or a model trained a few steps at a time. Here
    autotuning is off and one batch is prepared ahead. With `shuffle`, the
    order changes every epoch and follows the seed of
    ``keras.utils.set_random_seed``.
    """
    if len(images) != len(labels):
        raise ValueError(
            f"Got {len(images)} images but {len(labels)} labels; they must pair up one"
            " to one."
        )
    if batch_size < 1:
        raise ValueError(
            f"batch_size must be a positive number of images, got {batch_size}."
        )
    images, labels = tf.constant(images), tf.constant(labels)
    indices = tf.data.Dataset.range(len(images))
    if shuffle:
        indices = indices.shuffle(len(images), reshuffle_each_iteration=True)
    dataset = (
        indices.batch(batch_size)
        .map(lambda i: (tf.gather(images, i), tf.gather(labels, i)))
        .prefetch(1)
    )
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def steps_per_epoch(num_examples, batch_size):
    """How many batches one epoch of `num_examples` takes (the last may be short)."""
    return math.ceil(num_examples / batch_size)


def softmax_twice_loss(labels, probabilities):
    """The first TF1 program's loss: softmax cross-entropy of probabilities (chapter 3).

    The program passed the output of a softmax as ``logits`` to
    ``softmax_cross_entropy_with_logits``, which applies softmax again; this
    is that loss for integer `labels`, so that the program can be trained
    as written.
    """
    labels = keras.ops.reshape(keras.ops.cast(labels, "int32"), (-1, 1))
    log_q = keras.ops.log_softmax(probabilities, axis=-1)  # the second softmax
    return -keras.ops.take_along_axis(log_q, labels, axis=-1)[:, 0]


# The losses a `Recipe` can name: cross-entropy on logits, and the TF1 program's bug.
LOSSES = {
    "cross_entropy": lambda: keras.losses.SparseCategoricalCrossentropy(
        from_logits=True
    ),
    "softmax_twice": lambda: softmax_twice_loss,
}
SCHEDULES = ("cosine", "constant")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a model is trained: everything but the model and the data.

    The book's recipe (chapter 3, "The learning rate") is Adam with a
    learning rate that decays from `learning_rate` to 0 along a half cosine
    over all `epochs` (``schedule="cosine"``); ``"constant"`` keeps it fixed.
    `loss` is a key of `LOSSES`. `devices` is the number of replicas the
    run is trained on (chapter 9); the caller provides the strategy.
    """

    epochs: int
    batch_size: int
    learning_rate: float
    seed: int
    schedule: str = "cosine"
    loss: str = "cross_entropy"
    devices: int = 1

    def __post_init__(self):
        for name in ("epochs", "batch_size", "devices"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, np.integer))
                or value < 1
            ):
                raise ValueError(
                    f"Recipe {name} must be a positive integer, got {value!r}."
                )
        if not self.learning_rate > 0:
            raise ValueError(
                f"Recipe learning_rate must be positive, got {self.learning_rate!r}."
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"Unknown schedule {self.schedule!r}; choose one of"
                f" {', '.join(SCHEDULES)}."
            )
        if self.loss not in LOSSES:
            raise ValueError(
                f"Unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}."
            )

    @classmethod
    def of(cls, settings, **changes):
        """The recipe that a chapter's settings give, with `changes` applied.

        Reads their ``epochs``, ``batch_size``, ``peak_learning_rate`` and ``seed``.
        """
        recipe = {
            "epochs": settings.epochs,
            "batch_size": settings.batch_size,
            "learning_rate": settings.peak_learning_rate,
            "seed": settings.seed,
        }
        return cls(**{**recipe, **changes})

    def describe(self):
        """The recipe in words.

        For example ``"Adam 3e-3, cosine decay, 6 epochs of batch 50, seed 0"``.
        """
        rate = f"{self.learning_rate:.0e}".replace("e-0", "e-")
        schedule = ", cosine decay" if self.schedule == "cosine" else ", constant"
        loss = ", softmax twice" if self.loss == "softmax_twice" else ""
        devices = f", {self.devices} replicas" if self.devices > 1 else ""
        return (
            f"Adam {rate}{schedule}{loss}, {self.epochs} epochs of batch"
            f" {self.batch_size}, seed {self.seed}{devices}"
        )


def train(build, splits, recipe, profile=None):
    """Seed, build, compile and `fit` a model with `recipe` (a `Recipe`).

    `build` is called with no arguments after ``keras.utils.set_random_seed``
    with the recipe's seed, so the same seed gives the same initial weights
    and the same batches. Compiles with `compile_model` (`profile` as there).
    """
    keras.utils.set_random_seed(recipe.seed)
    model = build()
    compile_model(model, recipe, num_train=len(splits.x_train), profile=profile)
    return fit(model, splits, epochs=recipe.epochs, batch_size=recipe.batch_size)


def compile_model(model, recipe, num_train=None, profile=None, **options):
    """Compile `model` as `recipe` says: loss, Adam at its rate and schedule, accuracy.

    The one place where the book compiles a model (the chapters through
    `train`, the benchmark, chapter 9's strategies). The cosine schedule
    decays over all of the recipe's steps, so it needs `num_train`, the
    number of training images. The `speed_options` of the recipe's batch size
    and the model's kind of layer (and of `profile`: None means
    ``RNNBOOK_PROFILE``'s) come next, and `options` (``compile`` arguments
    such as ``jit_compile``) override them.
    """
    learning_rate = recipe.learning_rate
    if recipe.schedule == "cosine":
        if num_train is None:
            raise ValueError(
                "A cosine schedule decays over every training step: pass num_train."
            )
        decay_steps = recipe.epochs * steps_per_epoch(num_train, recipe.batch_size)
        learning_rate = keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps
        )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=LOSSES[recipe.loss](),
        metrics=["accuracy"],
        **{
            **speed_options(
                recipe.batch_size, kind=models.kind_of(model), profile=profile
            ),
            **options,
        },
    )
    return model


def fit(model, splits, *, epochs, batch_size):
    """Train a compiled `model` on `splits` and evaluate it on the test split.

    Prints one line per epoch (no progress bar, so saved outputs stay
    readable). The data goes through `batches`; the training data is shuffled
    each epoch: seed it beforehand with ``keras.utils.set_random_seed``.
    Validation and test run in batches of `EVALUATION_BATCH_SIZE`.
    """
    if not model.compiled:
        raise ValueError(
            f"Model {model.name!r} is not compiled: call model.compile(...) before fit."
        )
    timer = EpochTimer()
    history = model.fit(
        batches(splits.x_train, splits.y_train, batch_size, shuffle=True),
        epochs=epochs,
        shuffle=False,  # `batches` shuffles; Keras cannot shuffle a tf.data pipeline
        validation_data=batches(
            splits.x_validation, splits.y_validation, EVALUATION_BATCH_SIZE
        ),
        callbacks=[timer],
        verbose=2,
    )
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", np.arange(1, len(frame) + 1))
    frame["seconds"] = timer.seconds
    frame["validation_seconds"] = timer.validation_seconds
    test_loss, test_accuracy = model.evaluate(
        batches(splits.x_test, splits.y_test, EVALUATION_BATCH_SIZE), verbose=0
    )[:2]
    return Run(
        model=model,
        history=frame,
        batch_size=batch_size,
        num_train=len(splits.x_train),
        num_test=len(splits.x_test),
        test_loss=float(test_loss),
        test_accuracy=float(test_accuracy),
    )


def accuracy_by_rows(model, images, labels, batch_size=EVALUATION_BATCH_SIZE):
    """Accuracy when `model` answers after reading only the first k rows, for every k.

    No retraining: the top recurrent layer's hidden state after k steps goes
    through the model's trained output layer, as if the digit ended there
    (chapter 7, "How many rows does it need?"). Returns an array whose entry
    k - 1 is the accuracy after k rows; the last entry is the model's accuracy.

    A model that reads both ways (``keras.layers.Bidirectional``) has no state
    "after k rows" to read: its backward copy starts at the last row. It is
    run on the first k rows instead (`accuracy_on_first_rows`), so that its
    backward copy starts at row k, as if the digit ended there.
    """
    if any(isinstance(layer, keras.layers.Bidirectional) for layer in model.layers):
        return accuracy_on_first_rows(model, images, labels, batch_size)
    classifier = model.layers[-1]
    if not isinstance(classifier, keras.layers.Dense):
        raise ValueError(
            f"Model {model.name!r} must end in a Dense output layer, not"
            f" {type(classifier).__name__}."
        )
    probe = models.hidden_states(model)
    correct = []
    for start in range(0, len(images), batch_size):
        states = probe(images[start : start + batch_size])[
            -1
        ]  # the top layer: (batch, time steps, units)
        predictions = np.argmax(np.asarray(classifier(states)), axis=-1)
        correct.append(
            predictions == np.asarray(labels[start : start + batch_size])[:, None]
        )
    return np.concatenate(correct).mean(axis=0)


def accuracy_on_first_rows(model, images, labels, batch_size=EVALUATION_BATCH_SIZE):
    """Accuracy of `model` run on only the first k rows of `images`, for every k.

    The same layers and weights, called on (batch, k, features) inputs: for a
    model that reads top-down only, the same as `accuracy_by_rows` (which is
    faster, one pass over all rows), and the only way for one that also reads
    bottom-up. Returns an array whose entry k - 1 is the accuracy after k rows.
    """
    images, labels = np.asarray(images), np.asarray(labels)
    # One graph per input shape: unrolled layers need to know k, and the 28
    # traces cost less than running every step eagerly.
    predict = tf.function(lambda rows: model(rows, training=False))
    correct = np.zeros(images.shape[1])
    for start in range(0, len(images), batch_size):
        batch = tf.constant(images[start : start + batch_size])
        for k in range(1, images.shape[1] + 1):
            predictions = np.argmax(np.asarray(predict(batch[:, :k])), axis=-1)
            correct[k - 1] += np.sum(predictions == labels[start : start + batch_size])
    return correct / len(images)
