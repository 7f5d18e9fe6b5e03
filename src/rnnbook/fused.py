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

It needs the TensorFlow backend.
"""

import keras
import tensorflow as tf

from rnnbook import cells, legacy

__all__ = [
    "FusedLSTM",
    "ProjectedRecurrence",
    "ProjectedLSTM",
    "ProjectedGRU",
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


class ProjectedRecurrence(keras.layers.Layer):
    """A recurrent layer that projects all steps' inputs in one multiply, then recurs.

    The base of `ProjectedLSTM` and `ProjectedGRU`. A subclass sets
    `num_blocks` (gate blocks side by side in the kernels), `state_count`
    (1 for a GRU's h, 2 for an LSTM's h and c), and defines `build_bias`,
    `input_bias` (the bias added to the projected inputs) and
    ``step(x, states)``, one time step from a step's projected input. The
    weights are those of the matching Keras layer, in its order. The loop
    over the time steps is unrolled, so the number of steps must be known
    when the layer is built.

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
        steps, features = inputs.shape[1], inputs.shape[2]
        # One (batch * steps, features) x (features, blocks * units) multiply for all
        # steps; a 2-D multiply, because a batched one would compute the kernel's
        # gradient per example.
        flat = tf.matmul(tf.reshape(inputs, (-1, features)), self.kernel)
        projected = (
            tf.reshape(flat, (-1, steps, self.num_blocks * self.units))
            + self.input_bias()
        )
        states = [
            tf.zeros((tf.shape(inputs)[0], self.units), dtype=inputs.dtype)
        ] * self.state_count
        outputs = []
        for x in tf.unstack(projected, axis=1):
            states = self.step(x, states)
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


@keras.saving.register_keras_serializable(package="rnnbook")
class ProjectedLSTM(ProjectedRecurrence):
    """``keras.layers.LSTM(units)``, with every step's input projected up front.

    Same weights in the same order (``kernel``, ``recurrent_kernel``,
    ``bias``) and the same initial values; with ``peepholes=True``, the
    function and weights of ``keras.layers.RNN(rnnbook.cells.PeepholeLSTMCell(units))``.

    Args:
        units: Positive integer, the size of the hidden and cell states.
        peepholes: Add the three peephole vectors (chapter 5).
        return_sequences: Return the hidden state of every step, not only the last.
    """

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

    def input_bias(self):
        return self.bias

    def step(self, x, states):
        h, c = states
        z_i, z_f, z_c, z_o = tf.split(
            x + tf.matmul(h, self.recurrent_kernel), 4, axis=-1
        )
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
class ProjectedGRU(ProjectedRecurrence):
    """``keras.layers.GRU(units)``, with every step's input projected up front.

    Same weights in the same order (``kernel``, ``recurrent_kernel``, ``bias``
    of shape (2, 3 * units): input and recurrent biases).

    Args:
        units: Positive integer, the size of the hidden state.
        return_sequences: Return the hidden state of every step, not only the last.
    """

    num_blocks = 3

    def build_bias(self):
        self.bias = self.add_weight(
            shape=(2, 3 * self.units), initializer="zeros", name="bias"
        )

    def input_bias(self):
        return self.bias[0]

    def step(self, x, states):
        (h,) = states
        x_z, x_r, x_h = tf.split(x, 3, axis=-1)
        h_z, h_r, h_h = tf.split(
            tf.matmul(h, self.recurrent_kernel) + self.bias[1], 3, axis=-1
        )
        z = tf.sigmoid(x_z + h_z)
        r = tf.sigmoid(x_r + h_r)
        return [
            z * h + (1 - z) * tf.tanh(x_h + r * h_h)
        ]  # the reset gate acts after the multiply
