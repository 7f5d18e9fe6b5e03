"""The cell equations in NumPy: executable, readable, and checked against Keras.

Each function follows the weight layout of the matching Keras cell, so a
trained Keras layer's ``get_weights()`` can be passed in directly:

- ``kernel`` (input_dim, k * units): the input weights of all k blocks,
- ``recurrent_kernel`` (units, k * units): the recurrent weights,
- ``bias`` (k * units,),

with the blocks side by side in Keras's gate order. The tests hold these
functions to the Keras layers within 1e-5 (chapter 3, "The LSTM cell").

The plain recurrent cell also has its backward pass here, backpropagation
through time written out step by step (chapter 2, "Backpropagation through
time"); the tests hold its gradients to ``tf.GradientTape``'s within 1e-5.
"""

import numpy as np

__all__ = [
    "sigmoid",
    "simple_rnn_step",
    "simple_rnn",
    "cross_entropy",
    "simple_rnn_backward",
    "simple_rnn_gradients",
    "lstm_step",
    "lstm",
    "lstm_gates",
    "peephole_lstm_step",
    "peephole_lstm",
    "gru_step",
    "gru",
    "as_float64",
    "check_weights",
    "check_close",
    "check_small",
    "check_far",
]


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)), as Keras's ``"sigmoid"``."""
    return 1.0 / (1.0 + np.exp(-x))


def simple_rnn_step(x, h, kernel, recurrent_kernel, bias):
    """One step of the plain recurrent cell, ``keras.layers.SimpleRNN``: the new h.

    h_t = tanh(x_t W + h_{t-1} U + b), with `x` (batch, input_dim) and `h`
    (batch, units); one block, so `kernel` is (input_dim, units).
    """
    return np.tanh(x @ kernel + h @ recurrent_kernel + bias)


def simple_rnn(inputs, kernel, recurrent_kernel, bias):
    """Run `simple_rnn_step` over a batch of sequences from a zero state.

    Returns the hidden state at every step (batch, time steps, units) and the
    final h, as `gru` does.
    """
    inputs, kernel, recurrent_kernel, bias = as_float64(
        inputs, kernel, recurrent_kernel, bias
    )
    units = check_weights(inputs, kernel, recurrent_kernel, bias, num_blocks=1)
    h = np.zeros((inputs.shape[0], units))
    outputs = []
    for x in np.swapaxes(inputs, 0, 1):
        h = simple_rnn_step(x, h, kernel, recurrent_kernel, bias)
        outputs.append(h)
    return np.stack(outputs, axis=1), h


def cross_entropy(logits, labels):
    """The mean softmax cross-entropy of `logits` (batch, classes) and its gradient.

    What Keras's ``SparseCategoricalCrossentropy(from_logits=True)`` computes
    for integer `labels`, averaged over the batch. Returns the loss and
    dL/dlogits = (softmax(logits) - one_hot(labels)) / batch.
    """
    logits = np.asarray(logits, np.float64)
    labels = np.asarray(labels)
    if labels.shape != logits.shape[:1]:
        raise ValueError(
            f"labels must be one integer per row of logits ({logits.shape[0]}), got"
            f" shape {labels.shape}."
        )
    shifted = logits - logits.max(
        axis=-1, keepdims=True
    )  # the same softmax, no overflow
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    rows = np.arange(len(labels))
    loss = -log_p[rows, labels].mean()
    d_logits = np.exp(log_p)
    d_logits[rows, labels] -= 1.0
    return loss, d_logits / len(labels)


def simple_rnn_backward(inputs, outputs, kernel, recurrent_kernel, d_outputs):
    """Backpropagation through time for `simple_rnn`: every gradient, last step first.

    Args:
        inputs: The (batch, time steps, features) sequences `simple_rnn` read.
        outputs: Its hidden states h_1 ... h_T, (batch, time steps, units).
        kernel, recurrent_kernel: Its weights W and U.
        d_outputs: The gradient the loss sends into each h_t directly, from
            above (batch, time steps, units); for a classifier that reads only
            the last state, zero except at the last step.

    Returns:
        A dict of gradients of the loss: ``kernel``, ``recurrent_kernel`` and
        ``bias`` (summed over the steps, as the weights are shared), ``inputs``
        (dL/dx_t) and ``states`` (dL/dh_t, the total: directly and through
        every later step), each shaped like what it is the gradient of.
    """
    inputs, outputs, kernel, recurrent_kernel, d_outputs = as_float64(
        inputs, outputs, kernel, recurrent_kernel, d_outputs
    )
    if d_outputs.shape != outputs.shape:
        raise ValueError(
            f"d_outputs must be shaped like outputs {outputs.shape}, got"
            f" {d_outputs.shape}."
        )
    previous = np.concatenate([np.zeros_like(outputs[:, :1]), outputs[:, :-1]], axis=1)
    gradients = {
        "kernel": np.zeros_like(kernel),
        "recurrent_kernel": np.zeros_like(recurrent_kernel),
        "bias": np.zeros(kernel.shape[1]),
        "inputs": np.zeros_like(inputs),
        "states": np.zeros_like(outputs),
    }
    d_from_later = np.zeros_like(outputs[:, 0])  # dL/dh_t through h_{t+1}
    for t in reversed(range(inputs.shape[1])):
        d_h = d_outputs[:, t] + d_from_later
        gradients["states"][:, t] = d_h
        d_z = d_h * (1.0 - outputs[:, t] ** 2)  # through tanh: 1 - h_t^2
        gradients["kernel"] += inputs[:, t].T @ d_z
        gradients["recurrent_kernel"] += previous[:, t].T @ d_z
        gradients["bias"] += d_z.sum(axis=0)
        gradients["inputs"][:, t] = d_z @ kernel.T
        d_from_later = d_z @ recurrent_kernel.T  # one step back: times U^T
    return gradients


def simple_rnn_gradients(
    inputs,
    labels,
    kernel,
    recurrent_kernel,
    bias,
    dense_kernel,
    dense_bias,
    backward=simple_rnn_backward,
):
    """The loss of a SimpleRNN classifier and its gradients, by hand (chapter 2).

    The model is the book's: `simple_rnn` over the rows, a dense layer of
    logits on the last hidden state, mean cross-entropy. Returns the loss and
    the gradients of `backward`, with ``dense_kernel`` and ``dense_bias``
    added. `backward` takes `simple_rnn_backward`'s arguments; the chapter and
    the tests pass a deliberately wrong one to see the check catch it.
    """
    outputs, h = simple_rnn(inputs, kernel, recurrent_kernel, bias)
    dense_kernel, dense_bias = as_float64(dense_kernel, dense_bias)
    loss, d_logits = cross_entropy(h @ dense_kernel + dense_bias, labels)
    d_outputs = np.zeros_like(outputs)
    d_outputs[:, -1] = d_logits @ dense_kernel.T  # the classifier reads h_T only
    gradients = backward(inputs, outputs, kernel, recurrent_kernel, d_outputs)
    gradients["dense_kernel"] = h.T @ d_logits
    gradients["dense_bias"] = d_logits.sum(axis=0)
    return loss, gradients


def lstm_step(x, h, c, kernel, recurrent_kernel, bias):
    """One LSTM time step: return the new hidden state h and cell state c.

    `x` is (batch, input_dim), `h` and `c` are (batch, units). The gate order
    of Keras's ``LSTMCell`` is i (input), f (forget), c (candidate), o (output).
    """
    z = x @ kernel + h @ recurrent_kernel + bias
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    i = sigmoid(z_i)  # how much of the candidate to write
    f = sigmoid(z_f)  # how much of the old cell state to keep
    candidate = np.tanh(z_c)  # what could be written
    o = sigmoid(z_o)  # how much of the cell state to show
    c = f * c + i * candidate
    h = o * np.tanh(c)
    return h, c


def lstm(inputs, kernel, recurrent_kernel, bias):
    """Run `lstm_step` over a batch of sequences (batch, time steps, features).

    Starts from zero states, as ``keras.layers.LSTM`` does; the tests hold it
    to that layer within 1e-5.

    Args:
        inputs: (batch, time steps, features) array.
        kernel, recurrent_kernel, bias: A ``keras.layers.LSTM``'s weights, as
            its ``get_weights()`` gives them.

    Returns:
        The hidden state at every step (batch, time steps, units), and the
        final h and c (batch, units): the last output is the final h.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> inputs = rng.uniform(size=(2, 28, 28))  # 2 images, 28 rows of 28 pixels
    >>> kernel, recurrent_kernel = rng.normal(size=(28, 16)), rng.normal(size=(4, 16))
    >>> outputs, h, c = lstm(inputs, kernel, recurrent_kernel, np.zeros(16))
    >>> outputs.shape, h.shape, c.shape
    ((2, 28, 4), (2, 4), (2, 4))
    >>> bool(np.all(outputs[:, -1] == h))
    True
    """
    inputs, kernel, recurrent_kernel, bias = as_float64(
        inputs, kernel, recurrent_kernel, bias
    )
    units = check_weights(inputs, kernel, recurrent_kernel, bias, num_blocks=4)
    h = np.zeros((inputs.shape[0], units))
    c = np.zeros((inputs.shape[0], units))
    outputs = []
    for x in np.swapaxes(inputs, 0, 1):  # one time step at a time
        h, c = lstm_step(x, h, c, kernel, recurrent_kernel, bias)
        outputs.append(h)
    return np.stack(outputs, axis=1), h, c


def lstm_gates(inputs, kernel, recurrent_kernel, bias):
    """Every gate's activation and the cell state at every step of `lstm` (chapter 7).

    Runs `lstm` for the hidden states, then computes each step's gates from
    its input and the previous hidden state, all steps at once, and rebuilds
    the cell state from them. Returns a dict of (batch, time steps, units)
    arrays: ``input``, ``forget``, ``candidate``, ``output`` and ``cell``;
    ``output * tanh(cell)`` is the hidden state again, which the tests check.
    """
    inputs, kernel, recurrent_kernel, bias = as_float64(
        inputs, kernel, recurrent_kernel, bias
    )
    outputs, _, _ = lstm(inputs, kernel, recurrent_kernel, bias)
    previous = np.concatenate(
        [np.zeros_like(outputs[:, :1]), outputs[:, :-1]], axis=1
    )  # h_{t-1}
    z_i, z_f, z_c, z_o = np.split(
        inputs @ kernel + previous @ recurrent_kernel + bias, 4, axis=-1
    )
    gates = {
        "input": sigmoid(z_i),
        "forget": sigmoid(z_f),
        "candidate": np.tanh(z_c),
        "output": sigmoid(z_o),
    }
    c, cells = np.zeros_like(outputs[:, 0]), []
    for f, i, candidate in zip(
        *(np.swapaxes(gates[k], 0, 1) for k in ("forget", "input", "candidate"))
    ):
        c = f * c + i * candidate
        cells.append(c)
    return {**gates, "cell": np.stack(cells, axis=1)}


def peephole_lstm_step(
    x,
    h,
    c,
    kernel,
    recurrent_kernel,
    bias,
    input_peephole,
    forget_peephole,
    output_peephole,
):
    """One step of the LSTM with peephole connections (chapter 5).

    As `lstm_step`, but the input and forget gates also see the previous cell
    state, and the output gate sees the new one, each through a vector of
    per-unit weights.
    """
    z = x @ kernel + h @ recurrent_kernel + bias
    z_i, z_f, z_c, z_o = np.split(z, 4, axis=-1)
    i = sigmoid(z_i + input_peephole * c)
    f = sigmoid(z_f + forget_peephole * c)
    c = f * c + i * np.tanh(z_c)
    o = sigmoid(z_o + output_peephole * c)  # the new c_t
    h = o * np.tanh(c)
    return h, c


def peephole_lstm(
    inputs,
    kernel,
    recurrent_kernel,
    bias,
    input_peephole,
    forget_peephole,
    output_peephole,
):
    """Run `peephole_lstm_step` over a batch of sequences; returns like `lstm`."""
    inputs, kernel, recurrent_kernel, bias = as_float64(
        inputs, kernel, recurrent_kernel, bias
    )
    units = check_weights(inputs, kernel, recurrent_kernel, bias, num_blocks=4)
    peepholes = as_float64(input_peephole, forget_peephole, output_peephole)
    if any(np.shape(p) != (units,) for p in peepholes):
        raise ValueError(
            f"Each peephole vector must have shape ({units},), got"
            f" {[np.shape(p) for p in peepholes]}."
        )
    h = np.zeros((inputs.shape[0], units))
    c = np.zeros((inputs.shape[0], units))
    outputs = []
    for x in np.swapaxes(inputs, 0, 1):
        h, c = peephole_lstm_step(x, h, c, kernel, recurrent_kernel, bias, *peepholes)
        outputs.append(h)
    return np.stack(outputs, axis=1), h, c


def gru_step(x, h, kernel, recurrent_kernel, bias, reset_after=True):
    """One GRU time step in Keras's layout (blocks z, r, h): the new h (chapter 6).

    `reset_after` chooses where the reset gate r acts. False: on h before the
    recurrent matrix multiply, as in Cho et al. (2014) and TF1's ``GRUCell``;
    `bias` is (3 * units,). True (Keras's default, cuDNN's): on the result of
    the multiply; `bias` is (2, 3 * units), an input bias and a recurrent bias.
    """
    units = h.shape[-1]
    input_bias, recurrent_bias = (
        (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
    )
    x_z, x_r, x_h = np.split(x @ kernel + input_bias, 3, axis=-1)
    u_z, u_r = recurrent_kernel[:, :units], recurrent_kernel[:, units : 2 * units]
    u_h, b_h = recurrent_kernel[:, 2 * units :], recurrent_bias[2 * units :]
    z = sigmoid(
        x_z + h @ u_z + recurrent_bias[:units]
    )  # update gate: how much of h to keep
    r = sigmoid(x_r + h @ u_r + recurrent_bias[units : 2 * units])  # reset gate
    if reset_after:
        candidate = np.tanh(x_h + r * (h @ u_h + b_h))
    else:
        candidate = np.tanh(x_h + (r * h) @ u_h)
    return z * h + (1 - z) * candidate


def gru(inputs, kernel, recurrent_kernel, bias, reset_after=True):
    """Run `gru_step` over a batch of sequences from a zero state.

    Returns the hidden state at every step (batch, time steps, units) and the
    final h.
    """
    inputs, kernel, recurrent_kernel, bias = as_float64(
        inputs, kernel, recurrent_kernel, bias
    )
    units = recurrent_kernel.shape[0]
    expected_bias = (2, 3 * units) if reset_after else (3 * units,)
    if np.shape(bias) != expected_bias:
        raise ValueError(
            f"bias has shape {np.shape(bias)}, expected {expected_bias} for"
            f" reset_after={reset_after}."
        )
    input_bias = bias[0] if reset_after else bias
    check_weights(inputs, kernel, recurrent_kernel, input_bias, num_blocks=3)
    h = np.zeros((inputs.shape[0], units))
    outputs = []
    for x in np.swapaxes(inputs, 0, 1):
        h = gru_step(x, h, kernel, recurrent_kernel, bias, reset_after)
        outputs.append(h)
    return np.stack(outputs, axis=1), h


def as_float64(*arrays):
    """The arrays (NumPy arrays, tensors, nested lists) as float64 NumPy arrays.

    The functions here compute in float64, so that their rounding is far
    below float32's when they are compared with a Keras layer.
    """
    return [np.asarray(array, dtype=np.float64) for array in arrays]


def check_weights(inputs, kernel, recurrent_kernel, bias, num_blocks):
    """Check the shapes of a cell's weights against its inputs; return `units`.

    A mismatch names the array and the shape it should have, instead of a
    bare matmul error deep inside a loop. Any array-like passes (a list
    too), as the functions above accept them.
    """
    inputs_shape = np.shape(inputs)
    if len(inputs_shape) != 3:
        raise ValueError(
            f"inputs must be (batch, time steps, features), got shape {inputs_shape}."
        )
    if np.ndim(recurrent_kernel) != 2:
        raise ValueError(
            f"recurrent_kernel must be (units, {num_blocks} * units), got shape"
            f" {np.shape(recurrent_kernel)}."
        )
    units = np.shape(recurrent_kernel)[0]
    expected = {
        "kernel": (inputs_shape[-1], num_blocks * units),
        "recurrent_kernel": (units, num_blocks * units),
        "bias": (num_blocks * units,),
    }
    for name, array in zip(expected, (kernel, recurrent_kernel, bias)):
        if np.shape(array) != expected[name]:
            raise ValueError(
                f"{name} has shape {np.shape(array)}, expected {expected[name]} for "
                f"{inputs_shape[-1]} input features and {units} units "
                f"({num_blocks} blocks side by side)."
            )
    return units


def check_close(what, actual, expected, tolerance):
    """Print the largest |actual - expected|; raise if it is over `tolerance`.

    The chapters' equivalence checks go through here (or `check_small`), so
    that a chapter whose check fails stops with an error (CI executes every
    chapter) instead of printing a large number. Returns nothing, so that a
    check on a cell's last line shows only its printed line.

    >>> check_close("ones", np.ones(3), np.ones(3) + 1e-9, 1e-6)
    ones: largest |difference| 1.0e-09 (tolerance 1e-06)
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        raise ValueError(
            f"{what}: shapes {actual.shape} and {expected.shape} differ; compare like"
            " with like."
        )
    check_small(what, np.abs(actual - expected), tolerance)


def check_small(what, differences, tolerance):
    """Print the largest of `differences`; raise if it is over `tolerance`.

    For differences a chapter has already computed and shown, such as a table
    of relative differences: the check then stops the chapter when one of
    them is too large, as `check_close` does.

    >>> check_small("relative differences", [3e-7, 1e-7], 1e-6)
    relative differences: largest |difference| 3.0e-07 (tolerance 1e-06)
    """
    differences = np.abs(np.asarray(differences, np.float64))
    if differences.size == 0:
        raise ValueError(f"{what}: no differences to check.")
    difference = float(np.max(differences))
    if not difference <= tolerance:  # NaN fails too
        raise AssertionError(
            f"{what}: largest |difference| {difference:.2e} is over the tolerance"
            f" {tolerance:.0e}."
        )
    print(f"{what}: largest |difference| {difference:.1e} (tolerance {tolerance:.0e})")


def check_far(what, actual, expected, at_least):
    """Print the largest |actual - expected|; raise unless it is at least `at_least`.

    The negative control of a check: two things that must differ (the same
    weights with and without peepholes) do, by more than rounding.
    """
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    difference = float(np.max(np.abs(actual - expected)))
    if not difference >= at_least:
        raise AssertionError(
            f"{what}: largest |difference| {difference:.2e} is under {at_least:.0e}:"
            " they should differ."
        )
    print(f"{what}: largest |difference| {difference:.2f} (at least {at_least:.0e})")
