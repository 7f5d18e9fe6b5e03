"""Faster recurrent layers for the CPU: the fused candidates of the speed benchmark.

`FusedLSTM`: ``tf.raw_ops.BlockLSTM`` runs a whole LSTM over all time steps
in one C++ op, with a registered gradient, optionally with peepholes: the
kernel behind TF1's ``LSTMBlockFusedCell``. (Its successor ``BlockLSTMV2``
computes the same forward pass with the gate blocks in Keras's order, but
TensorFlow 2.21 registers the first version's gradient for it, which assumes
the other order: its gradients are wrong.) It is wrapped as a Keras layer
whose weights have exactly the layout of ``keras.layers.LSTM`` (plus the peephole
vectors of `rnnbook.cells.PeepholeLSTMCell`), so that weights move between
them with ``set_weights`` and the tests can hold both to the same outputs
and gradients (chapter 8, "Candidates").

`ProjectedLSTM` and `ProjectedGRU`: the input projection of all 28 steps in
one large matrix multiply before the recurrence, which then multiplies only
by the recurrent kernel at each step - the trick of cuDNN's kernels, written
in TensorFlow ops. (TensorFlow's fused GRU op, ``GRUBlockCell``, has no
registered gradient, so it cannot train.)

`ConcatLSTM` and `ConcatGRU`: TF1's computation in Keras 3. TF1's
``BasicLSTMCell``, ``LSTMCell`` and ``GRUCell`` multiply the concatenation
[x_t, h_{t-1}] by one kernel per step, where Keras's cells multiply x_t and
h_{t-1} by two kernels and add. These layers keep Keras's weights (so that
weights move between them and the Keras layers with ``set_weights``), join
the two kernels once per call, and multiply once per step (chapter 8).

All but `FusedLSTM` unroll their loop over the time steps in Python
(`UnrolledRecurrence`), as ``unroll=True`` does for the Keras layers.

It needs the TensorFlow backend.
"""

import keras
import tensorflow as tf

from rnnbook import cells, legacy

__all__ = [
    "FusedLSTM",
    "UnrolledRecurrence",
    "ProjectedRecurrence",
    "ConcatRecurrence",
    "ProjectedLSTM",
    "ProjectedGRU",
    "ConcatLSTM",
    "ConcatGRU",
]


def _block_order(weights):
    """Reorder the gate blocks on the last axis from Keras's order to BlockLSTM's.

    BlockLSTM orders them i, c, f, o, as TF1's LSTM cells do (`rnnbook.legacy`).
    """
    blocks = tf.split(weights, 4, axis=-1)
    return tf.concat([blocks[k] for k in legacy.KERAS_TO_TF1_LSTM], axis=-1)


def _add_peepholes(layer):
    """The peephole vectors of `rnnbook.cells.PeepholeLSTMCell`, as named there."""
    return [
        layer.add_weight(
            shape=(layer.units,), initializer="zeros", name=f"{gate}_peephole"
        )
        for gate in ("input", "forget", "output")
    ]


@keras.saving.register_keras_serializable(package="rnnbook")
class FusedLSTM(keras.layers.Layer):
    """An LSTM layer computed by ``tf.raw_ops.BlockLSTM``.

    The same function as ``keras.layers.LSTM(units)`` (sigmoid gates, tanh,
    zero initial states) or, with ``peepholes=True``, as
    ``keras.layers.RNN(rnnbook.cells.PeepholeLSTMCell(units))``, with the
    same weights in the same order and the same initial values.

    Args:
        units: Positive integer, the size of the hidden and cell states.
        peepholes: Add the three peephole vectors (chapter 5).
        return_sequences: Return the hidden state of every step, not only
            the last.
    """

    def __init__(self, units, peepholes=False, return_sequences=False, **kwargs):
        super().__init__(**kwargs)
        self.units = cells.check_units(units)
        self.peepholes = peepholes
        self.return_sequences = return_sequences

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, 4 * self.units),
            initializer="glorot_uniform",
            name="kernel",
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, 4 * self.units),
            initializer="orthogonal",
            name="recurrent_kernel",
        )
        self.bias = self.add_weight(
            shape=(4 * self.units,),
            initializer=cells.unit_forget_bias(self.units),
            name="bias",
        )
        self.peephole_weights = _add_peepholes(self) if self.peepholes else []

    def call(self, inputs):
        batch_size = tf.shape(inputs)[0]
        time_major = tf.transpose(inputs, (1, 0, 2))
        zeros = tf.zeros((batch_size, self.units), dtype=inputs.dtype)
        no_peephole = tf.zeros((self.units,), dtype=inputs.dtype)
        peepholes = self.peephole_weights or [no_peephole] * 3
        outputs = tf.raw_ops.BlockLSTM(
            seq_len_max=tf.cast(tf.shape(time_major)[0], tf.int64),
            x=time_major,
            cs_prev=zeros,
            h_prev=zeros,
            w=_block_order(
                tf.concat([self.kernel, self.recurrent_kernel], axis=0)
            ),  # one matrix for [x_t, h_{t-1}]
            wci=peepholes[0],
            wcf=peepholes[1],
            wco=peepholes[2],
            b=_block_order(self.bias),
            forget_bias=0.0,  # Keras puts it in the bias's initial value instead
            cell_clip=-1.0,  # no clipping, as in Keras
            use_peephole=self.peepholes,
        )
        h = outputs[-1]  # (time steps, batch, units)
        return tf.transpose(h, (1, 0, 2)) if self.return_sequences else h[-1]

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "peepholes": self.peepholes,
            "return_sequences": self.return_sequences,
        }


class UnrolledRecurrence(keras.layers.Layer):
    """A recurrent layer with the weights of a Keras layer and an unrolled loop.

    The base of the projected and concat layers. A subclass says what each
    step multiplies: ``prepare(inputs)`` returns the per-step inputs and the
    kernel the steps use, and ``step(x, states, kernel)`` is one time step.
    A gate mixin (`_LSTMGates`, `_GRUGates`) sets `num_blocks` (gate blocks
    side by side in the kernels) and `state_count` (1 for a GRU's h, 2 for
    an LSTM's h and c), creates the biases and turns a step's
    pre-activations into new states. The weights are those of the matching
    Keras layer, in its order. The loop over the time steps is unrolled, so
    the number of steps must be known when the layer is built.

    Args:
        units: Positive integer, the width of the hidden state.
        return_sequences: Whether to return the hidden state of every step
            (batch, time steps, units) or only the last one (batch, units).
        **kwargs: Passed to ``keras.layers.Layer``, such as ``name``.

    Call arguments:
        inputs: A (batch, time steps, features) tensor; the number of time
            steps must be fixed.
    """

    num_blocks = None
    state_count = 1

    def __init__(self, units, return_sequences=False, **kwargs):
        super().__init__(**kwargs)
        self.units = cells.check_units(units)
        self.return_sequences = return_sequences

    def build(self, input_shape):
        if input_shape[1] is None:
            raise ValueError(
                f"{type(self).__name__} unrolls its loop: give the inputs a fixed"
                " number of time steps."
            )
        width = self.num_blocks * self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], width), initializer="glorot_uniform", name="kernel"
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width), initializer="orthogonal", name="recurrent_kernel"
        )
        self.build_bias()

    def call(self, inputs):
        steps, kernel = self.prepare(inputs)
        states = [
            tf.zeros((tf.shape(inputs)[0], self.units), dtype=inputs.dtype)
        ] * self.state_count
        outputs = []
        for x in steps:
            states = self.step(x, states, kernel)
            outputs.append(states[0])
        return tf.stack(outputs, axis=1) if self.return_sequences else states[0]

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "return_sequences": self.return_sequences,
        }


class ProjectedRecurrence(UnrolledRecurrence):
    """Every step's input projected in one multiply; each step multiplies only h.

    The subclass's ``input_bias()`` is the bias added to the projected inputs.
    """

    def prepare(self, inputs):
        steps, features = inputs.shape[1], inputs.shape[2]
        # One (batch * steps, features) x (features, blocks * units) multiply for all
        # steps; a 2-D multiply, because a batched one would compute the kernel's
        # gradient per example.
        flat = tf.matmul(tf.reshape(inputs, (-1, features)), self.kernel)
        projected = (
            tf.reshape(flat, (-1, steps, self.num_blocks * self.units))
            + self.input_bias()
        )
        return tf.unstack(projected, axis=1), self.recurrent_kernel


class ConcatRecurrence(UnrolledRecurrence):
    """TF1's layout: one multiply of [x_t, h_{t-1}] by the joined kernels per step."""

    def prepare(self, inputs):
        joined = tf.concat([self.kernel, self.recurrent_kernel], axis=0)
        return tf.unstack(inputs, axis=1), joined


class _LSTMGates:
    """The LSTM's biases and gates, shared by `ProjectedLSTM` and `ConcatLSTM`."""

    num_blocks = 4
    state_count = 2  # h, c

    def __init__(self, units, peepholes=False, return_sequences=False, **kwargs):
        super().__init__(units, return_sequences=return_sequences, **kwargs)
        self.peepholes = peepholes

    def build_bias(self):
        self.bias = self.add_weight(
            shape=(4 * self.units,),
            initializer=cells.unit_forget_bias(self.units),
            name="bias",
        )
        self.peephole_weights = _add_peepholes(self) if self.peepholes else []

    def update(self, z, c):
        """New [h, c] from the pre-activations `z` (blocks i, f, c, o) and the old c."""
        z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
        if self.peepholes:
            p_i, p_f, p_o = self.peephole_weights
            c = tf.sigmoid(z_f + p_f * c) * c + tf.sigmoid(z_i + p_i * c) * tf.tanh(z_c)
            return [
                tf.sigmoid(z_o + p_o * c) * tf.tanh(c),
                c,
            ]  # the output gate sees the new c
        c = tf.sigmoid(z_f) * c + tf.sigmoid(z_i) * tf.tanh(z_c)
        return [tf.sigmoid(z_o) * tf.tanh(c), c]

    def get_config(self):
        return {**super().get_config(), "peepholes": self.peepholes}


@keras.saving.register_keras_serializable(package="rnnbook")
class ProjectedLSTM(_LSTMGates, ProjectedRecurrence):
    """``keras.layers.LSTM(units)``, with every step's input projected up front.

    Same weights in the same order (``kernel``, ``recurrent_kernel``,
    ``bias``) and the same initial values; with ``peepholes=True``, the
    function and weights of ``keras.layers.RNN(rnnbook.cells.PeepholeLSTMCell(units))``.

    Args:
        units: Positive integer, the size of the hidden and cell states.
        peepholes: Add the three peephole vectors (chapter 5).
        return_sequences: Return the hidden state of every step, not only the last.
    """

    def input_bias(self):
        return self.bias

    def step(self, x, states, kernel):
        h, c = states
        return self.update(x + tf.matmul(h, kernel), c)


@keras.saving.register_keras_serializable(package="rnnbook")
class ConcatLSTM(_LSTMGates, ConcatRecurrence):
    """``keras.layers.LSTM(units)`` computed as TF1's ``BasicLSTMCell`` does.

    One multiply of [x_t, h_{t-1}] per step. Same weights in the same order
    as the Keras layer; with ``peepholes=True``, the function and weights of
    ``keras.layers.RNN(rnnbook.cells.PeepholeLSTMCell(units))``, computed as
    TF1's ``LSTMCell(use_peepholes=True)`` does.

    Args:
        units: Positive integer, the size of the hidden and cell states.
        peepholes: Add the three peephole vectors (chapter 5).
        return_sequences: Return the hidden state of every step, not only the last.

    Example:

    >>> layer = ConcatLSTM(8)
    >>> layer(keras.ops.zeros((2, 28, 28))).shape
    TensorShape([2, 8])
    >>> [w.shape for w in layer.get_weights()]
    [(28, 32), (8, 32), (32,)]
    """

    def step(self, x, states, kernel):
        h, c = states
        return self.update(tf.matmul(tf.concat([x, h], axis=-1), kernel) + self.bias, c)


class _GRUGates:
    """The GRU's biases and gates, shared by `ProjectedGRU` and `ConcatGRU`.

    With ``reset_after=True`` (Keras's default, the book's GRU) the reset
    gate scales the candidate's recurrent term after its multiply, and the
    input and recurrent terms have biases of their own, shape (2, 3 * units);
    with ``reset_after=False`` (TF1's ``GRUCell``) it scales h before the
    multiply, and one bias of shape (3 * units,) serves both (chapter 6).
    """

    num_blocks = 3

    def __init__(self, units, reset_after=True, return_sequences=False, **kwargs):
        super().__init__(units, return_sequences=return_sequences, **kwargs)
        self.reset_after = reset_after

    def build_bias(self):
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self.bias = self.add_weight(shape=shape, initializer="zeros", name="bias")

    def update(self, h, z, r, candidate):
        """New [h] from the gates' pre-activations `z` and `r` and the old h;
        ``candidate(r)`` gives the candidate's pre-activation for the reset gate r."""
        z, r = tf.sigmoid(z), tf.sigmoid(r)
        return [z * h + (1 - z) * tf.tanh(candidate(r))]

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


@keras.saving.register_keras_serializable(package="rnnbook")
class ProjectedGRU(_GRUGates, ProjectedRecurrence):
    """``keras.layers.GRU(units, reset_after=...)``, every step's input projected
    up front.

    Same weights in the same order (``kernel``, ``recurrent_kernel``, ``bias``)
    and the same initial values as the Keras layer with the same `reset_after`.

    Args:
        units: Positive integer, the size of the hidden state.
        reset_after: Keras's convention (True, the default) or TF1's (False).
        return_sequences: Return the hidden state of every step, not only the last.
    """

    def input_bias(self):
        return self.bias[0] if self.reset_after else self.bias

    def step(self, x, states, kernel):
        (h,) = states
        x_z, x_r, x_h = tf.split(x, 3, axis=-1)
        if self.reset_after:
            h_z, h_r, h_h = tf.split(tf.matmul(h, kernel) + self.bias[1], 3, axis=-1)
            return self.update(h, x_z + h_z, x_r + h_r, lambda r: x_h + r * h_h)
        gates, candidate = kernel[:, : 2 * self.units], kernel[:, 2 * self.units :]
        h_z, h_r = tf.split(tf.matmul(h, gates), 2, axis=-1)
        return self.update(
            h, x_z + h_z, x_r + h_r, lambda r: x_h + tf.matmul(r * h, candidate)
        )


@keras.saving.register_keras_serializable(package="rnnbook")
class ConcatGRU(_GRUGates, ConcatRecurrence):
    """``keras.layers.GRU(units, reset_after=False)`` computed as TF1's ``GRUCell``.

    Per step, one multiply of [x_t, h_{t-1}] for the gates z and r, and one
    of [x_t, r * h_{t-1}] for the candidate. TF1's convention only: with the
    reset gate after the multiply (Keras's default) the candidate needs x_t
    and h_{t-1} multiplied apart, so there is nothing to join.

    Args:
        units: Positive integer, the size of the hidden state.
        return_sequences: Return the hidden state of every step, not only the last.
    """

    def __init__(self, units, return_sequences=False, **kwargs):
        if kwargs.pop("reset_after", False):
            raise ValueError(
                "ConcatGRU computes TF1's GRUCell, whose reset gate acts before the"
                " multiply: reset_after must be False (use ProjectedGRU for"
                " reset_after=True)."
            )
        super().__init__(
            units, reset_after=False, return_sequences=return_sequences, **kwargs
        )

    def step(self, x, states, kernel):
        (h,) = states
        units = self.units
        gates, candidate = kernel[:, : 2 * units], kernel[:, 2 * units :]
        z_r = tf.matmul(tf.concat([x, h], axis=-1), gates) + self.bias[: 2 * units]
        z, r = tf.split(z_r, 2, axis=-1)
        return self.update(
            h,
            z,
            r,
            lambda r: (
                tf.matmul(tf.concat([x, r * h], axis=-1), candidate)
                + self.bias[2 * units :]
            ),
        )
