"""The TF1 cells, run as the TF1 programs ran them: the oracle for the book's cells.

TensorFlow 2.21 still ships ``tf.compat.v1.nn.dynamic_rnn``; the TF1 cells
themselves (``LSTMCell``, ``BasicLSTMCell``, ``GRUCell``) now live in the
``tf-keras`` package. `run_cell` builds them in a private ``tf.Graph`` and
runs them in a ``tf.compat.v1.Session``, so they sit beside Keras 3 in one
process. The mapping functions translate Keras weights into TF1's layout
(chapter 3, "From the TF1 program to Keras 3"; chapter 4, "BasicLSTMCell").
`read_data_sets` stands in for the TF1 tutorials' removed MNIST reader, so
that the appendix can run the original programs.
"""

import contextlib
import random
import types
import warnings

import numpy as np
import pandas as pd
import tensorflow as tf

from rnnbook import data, training

__all__ = [
    "KERAS_TO_TF1_LSTM",
    "make_cell",
    "run_cell",
    "training_step",
    "TrainingStep",
    "lstm_weights_to_tf1",
    "peephole_lstm_weights_to_tf1",
    "gru_weights_to_tf1",
    "DataSet",
    "read_data_sets",
    "program_run",
]


def _legacy_cells():
    try:
        from tf_keras.src.layers.rnn import legacy_cells
    except ImportError as exc:
        raise ImportError(
            "The TF1 cells come from the tf-keras package: pip install"
            " 'tf-keras>=2.21,<2.22' (it is in the book's requirements.txt)."
        ) from exc
    return legacy_cells


def make_cell(name, num_units, **options):
    """The TF1 cell `name` ("LSTMCell", "BasicLSTMCell", "GRUCell"), with `options`."""
    cells = _legacy_cells()
    known = ("LSTMCell", "BasicLSTMCell", "GRUCell")
    if name not in known:
        raise ValueError(
            f"Unknown TF1 cell {name!r}; choose one of {', '.join(known)}."
        )
    return getattr(cells, name)(num_units, **options)


def run_cell(cell_name, num_units, inputs, weights, **options):
    """Run a TF1 cell over `inputs` (batch, time, features) with ``dynamic_rnn``.

    `weights` maps each of the cell's variable names (``kernel``, ``bias``, for
    peepholes ``w_i_diag``, ``w_f_diag``, ``w_o_diag``; for the GRU ``gates/kernel``,
    ``gates/bias``, ``candidate/kernel``, ``candidate/bias``) to its value; every
    variable must be given. Returns the outputs at every step and the final state as
    NumPy arrays (for LSTM cells a ``(c, h)`` pair).
    """
    inputs = np.asarray(inputs, dtype=np.float32)
    graph = tf.Graph()
    with graph.as_default(), _without_deprecation_notices():
        placeholder = tf.compat.v1.placeholder(tf.float32, [None, *inputs.shape[1:]])
        cell = make_cell(cell_name, num_units, **options)
        outputs, state = tf.compat.v1.nn.dynamic_rnn(
            cell, placeholder, dtype=tf.float32
        )
        # Names below the cell's scope: "rnn/gru_cell/gates/kernel:0" is "gates/kernel".
        variables = {
            "/".join(v.name.split(":")[0].split("/")[2:]): v for v in cell.weights
        }
        if set(variables) != set(weights):
            raise ValueError(
                f"{cell_name} has the variables {sorted(variables)}, but weights were"
                f" given for {sorted(weights)}."
            )
        with tf.compat.v1.Session(graph=graph) as session:
            for name, variable in variables.items():
                variable.load(np.asarray(weights[name], dtype=np.float32), session)
            return session.run((outputs, state), {placeholder: inputs})


def training_step(
    cell_name, num_units, num_layers=1, learning_rate=1e-3, seed=0, **options
):
    """The TF1 programs' training graph, as a `TrainingStep`: one Adam step per call.

    `num_layers` cells `cell_name` in a ``MultiRNNCell`` (a single cell
    without it), ``dynamic_rnn`` over the rows, a dense layer on the top
    layer's final hidden state, softmax cross-entropy and Adam: the graph of
    the TF1 programs, built in a private ``tf.Graph`` (chapter 8 times it as
    the baseline). `seed` fixes every initial weight, so two steps built
    alike start alike.
    """
    graph = tf.Graph()
    with graph.as_default(), _without_deprecation_notices(), _seeded_cells(seed):
        tf.compat.v1.set_random_seed(seed)
        images = tf.compat.v1.placeholder(tf.float32, [None, 28, 28])
        labels = tf.compat.v1.placeholder(tf.int64, [None])
        layers = [make_cell(cell_name, num_units, **options) for _ in range(num_layers)]
        cell = layers[0] if num_layers == 1 else _legacy_cells().MultiRNNCell(layers)
        _, state = tf.compat.v1.nn.dynamic_rnn(cell, images, dtype=tf.float32)
        top = state if num_layers == 1 else state[-1]
        top = top.h if hasattr(top, "h") else top  # an LSTM's state is a (c, h) pair
        weights = tf.compat.v1.get_variable("dense/kernel", [num_units, 10])
        bias = tf.compat.v1.get_variable(
            "dense/bias", [10], initializer=tf.compat.v1.zeros_initializer()
        )
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=tf.matmul(top, weights) + bias
            )
        )
        train = tf.compat.v1.train.AdamOptimizer(learning_rate).minimize(loss)
    return TrainingStep(graph, images, labels, train, loss)


class TrainingStep:
    """A TF1 training graph and the ``tf.compat.v1.Session`` that runs it.

    ``step(images, labels)`` runs one training step on a batch (`images`
    (batch, 28, 28) float32, `labels` integer class indices) and returns its
    loss. The session holds the graph's variables and threads until `close`;
    use it as a context manager (``with training_step(...) as step:``) to
    close it at the end.
    """

    def __init__(self, graph, images, labels, train, loss):
        self._images, self._labels, self._fetches = images, labels, (train, loss)
        self._session = tf.compat.v1.Session(graph=graph)
        with graph.as_default():
            self._session.run(tf.compat.v1.global_variables_initializer())

    def __call__(self, images, labels):
        if self._session is None:
            raise RuntimeError(
                "This TF1 training step is closed; build a new one with"
                " training_step(...)."
            )
        return self._session.run(
            self._fetches, {self._images: images, self._labels: labels}
        )[1]

    def close(self):
        """Close the session and free what it holds. Closing twice is harmless."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


@contextlib.contextmanager
def _seeded_cells(seed):
    """Seed the initialisers of the TF1 cells built inside, then restore.

    The cells' default ``glorot_uniform`` ignores the graph's seed: tf-keras
    draws each initialiser's seed from ``backend._SEED_GENERATOR`` (what
    ``tf_keras.utils.set_random_seed`` sets) or else from Python's `random`.
    Setting that generator only while the graph is built keeps the process's
    global random state untouched.
    """
    from tf_keras.src import backend

    previous = getattr(backend._SEED_GENERATOR, "generator", None)
    backend._SEED_GENERATOR.generator = random.Random(seed)
    try:
        yield
    finally:
        backend._SEED_GENERATOR.generator = previous


@contextlib.contextmanager
def _without_deprecation_notices():
    """Silence TF1's deprecation notices: using those APIs is the point here."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=".*is deprecated", category=UserWarning
            )
            yield
    finally:
        logger.setLevel(level)


def _reorder_gates(array, order):
    """Rearrange the gate blocks on the last axis; `order` lists source blocks."""
    blocks = np.split(np.asarray(array), len(order), axis=-1)
    return np.concatenate([blocks[i] for i in order], axis=-1)


# Keras orders an LSTM's blocks i, f, c, o; TF1 orders them i, j (= c), f, o, and so
# does TensorFlow's fused BlockLSTM kernel (`rnnbook.fused`).
KERAS_TO_TF1_LSTM = (0, 2, 1, 3)


def lstm_weights_to_tf1(kernel, recurrent_kernel, bias, forget_bias=1.0):
    """Keras ``LSTMCell`` weights as TF1 ``LSTMCell`` / ``BasicLSTMCell`` variables.

    TF1 runs one kernel over the concatenation [x, h], orders the blocks
    i, j, f, o, and adds `forget_bias` to the forget gate at run time, so its
    stored forget bias is Keras's minus `forget_bias`.
    """
    num_units = recurrent_kernel.shape[0]
    keras_bias = np.asarray(bias, dtype=np.float64).copy()
    keras_bias[num_units : 2 * num_units] -= forget_bias
    return {
        "kernel": _reorder_gates(
            np.concatenate([kernel, recurrent_kernel], axis=0), KERAS_TO_TF1_LSTM
        ),
        "bias": _reorder_gates(keras_bias, KERAS_TO_TF1_LSTM),
    }


def peephole_lstm_weights_to_tf1(
    kernel,
    recurrent_kernel,
    bias,
    input_peephole,
    forget_peephole,
    output_peephole,
    forget_bias=1.0,
):
    """`rnnbook.cells.PeepholeLSTMCell` weights as TF1
    ``LSTMCell(use_peepholes=True)`` variables."""
    return {
        **lstm_weights_to_tf1(kernel, recurrent_kernel, bias, forget_bias),
        "w_i_diag": input_peephole,
        "w_f_diag": forget_peephole,
        "w_o_diag": output_peephole,
    }


# Keras orders the GRU's blocks z, r, h; TF1's gate kernel holds r, u (= z).
_KERAS_TO_TF1_GRU_GATES = (1, 0)


def gru_weights_to_tf1(kernel, recurrent_kernel, bias):
    """Keras ``GRUCell(reset_after=False)`` weights as TF1 ``GRUCell`` variables.

    TF1 keeps two kernels over the concatenation of the input and the state:
    one for the gates r and u, one for the candidate (which sees r * h).
    """
    num_units = recurrent_kernel.shape[0]
    if np.shape(bias) != (3 * num_units,):
        raise ValueError(
            "TF1's GRUCell applies the reset gate before the multiply: map a GRU with"
            f" reset_after=False (bias of shape ({3 * num_units},)), got bias of shape"
            f" {np.shape(bias)}."
        )
    stacked = np.concatenate([kernel, recurrent_kernel], axis=0)
    gates = slice(0, 2 * num_units)
    return {
        "gates/kernel": _reorder_gates(stacked[:, gates], _KERAS_TO_TF1_GRU_GATES),
        "gates/bias": _reorder_gates(np.asarray(bias)[gates], _KERAS_TO_TF1_GRU_GATES),
        "candidate/kernel": stacked[:, 2 * num_units :],
        "candidate/bias": np.asarray(bias)[2 * num_units :],
    }


class DataSet:
    """One split as TF1's ``input_data`` gave it: flat images, labels, ``next_batch``.

    `images` are (n, 784) float32 in [0, 1]; `labels` integer classes, or
    one-hot rows of 10 with ``one_hot=True``. ``next_batch`` walks through a
    shuffled order and reshuffles at the end of every epoch, as the original did.
    """

    def __init__(self, images, labels, one_hot, seed):
        self.images = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
        labels = np.asarray(labels)
        self.labels = (
            np.eye(data.NUM_CLASSES, dtype=np.float32)[labels] if one_hot else labels
        )
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(self.num_examples)
        self._position = 0

    @property
    def num_examples(self):
        return len(self.images)

    def next_batch(self, batch_size):
        """The next `batch_size` (images, labels), into a new shuffle when one ends."""
        if not 0 < batch_size <= self.num_examples:
            raise ValueError(
                f"batch_size must be between 1 and {self.num_examples}, got"
                f" {batch_size}."
            )
        if self._position + batch_size > self.num_examples:
            rest = self._order[self._position :]
            self._order = self._rng.permutation(self.num_examples)
            self._position = batch_size - len(rest)
            chosen = np.concatenate([rest, self._order[: self._position]])
        else:
            chosen = self._order[self._position : self._position + batch_size]
            self._position += batch_size
        return self.images[chosen], self.labels[chosen]


def read_data_sets(profile=None, one_hot=False, seed=0):
    """The stand-in for
    ``tensorflow.examples.tutorials.mnist.input_data.read_data_sets``.

    Built on `rnnbook.data.load_sequences`, so the split is the book's (in the
    full profile 55,000 / 5,000 / 10,000, as the original's). Returns an
    object with ``train``, ``validation`` and ``test`` `DataSet` attributes.
    """
    splits = data.load_sequences(profile)
    return types.SimpleNamespace(
        train=DataSet(splits.x_train, splits.y_train, one_hot, seed),
        validation=DataSet(splits.x_validation, splits.y_validation, one_hot, seed + 1),
        test=DataSet(splits.x_test, splits.y_test, one_hot, seed + 2),
    )


def program_run(name, epoch_seconds, test_accuracies, test_loss, batch_size, dataset):
    """A TF1 program's result as a `rnnbook.training.Run`, for the registry (appendix).

    Call it while the program's graph is the default one: its trainable
    variables are the parameters. `test_accuracies` are the per-epoch test
    accuracies the program prints; `dataset` its `read_data_sets` result.
    """
    if len(epoch_seconds) != len(test_accuracies):
        raise ValueError(
            f"{len(epoch_seconds)} epoch times but {len(test_accuracies)} test"
            " accuracies."
        )
    history = pd.DataFrame(
        {
            "epoch": np.arange(1, len(epoch_seconds) + 1),
            "test_accuracy": [float(a) for a in test_accuracies],
            "seconds": [float(s) for s in epoch_seconds],
        }
    )
    parameters = sum(int(np.prod(v.shape)) for v in tf.compat.v1.trainable_variables())
    return training.Run(
        model=None,
        history=history,
        batch_size=batch_size,
        num_train=dataset.train.num_examples,
        num_test=dataset.test.num_examples,
        test_loss=float(test_loss),
        test_accuracy=float(test_accuracies[-1]),
        parameters=parameters,
        name=name,
    )
