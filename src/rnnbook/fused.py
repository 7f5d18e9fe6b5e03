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
and gradients (chapter 7, "Candidates").

`ProjectedGRU`: TensorFlow's fused GRU op (``GRUBlockCell``) has no
registered gradient, so it cannot train. The next best thing computes the
input projection of all 28 steps in one matrix multiply before the
recurrence, which then only multiplies by the recurrent kernel.

It needs the TensorFlow backend.
"""

import keras
import tensorflow as tf

# Keras orders the four gate blocks i, f, c, o; BlockLSTM wants i, c, f, o.
_KERAS_TO_BLOCK = (0, 2, 1, 3)


def _block_order(weights):
    """Reorder the four gate blocks along the last axis from Keras's order to BlockLSTM's."""
    blocks = tf.split(weights, 4, axis=-1)
    return tf.concat([blocks[k] for k in _KERAS_TO_BLOCK], axis=-1)


def _check_units(units):
    if not isinstance(units, int) or isinstance(units, bool) or units < 1:
        raise ValueError(f"units must be a positive integer, got {units!r}.")


@keras.saving.register_keras_serializable(package="rnnbook")
class FusedLSTM(keras.layers.Layer):
    """An LSTM layer computed by ``tf.raw_ops.BlockLSTM``.

    The same function as ``keras.layers.LSTM(units)`` (sigmoid gates, tanh,
    zero initial states) or, with ``peepholes=True``, as
    ``keras.layers.RNN(rnnbook.cells.PeepholeLSTMCell(units))``, with the
    same weights in the same order and the same initial values.

    Args:
        units: Positive integer, the size of the hidden and cell states.
        peepholes: Add the three peephole vectors (chapter 4).
        return_sequences: Return the hidden state of every step, not only
            the last.
    """

    def __init__(self, units, peepholes=False, return_sequences=False, **kwargs):
        super().__init__(**kwargs)
        _check_units(units)
        self.units = units
        self.peepholes = peepholes
        self.return_sequences = return_sequences

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(shape=(input_dim, 4 * self.units), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, 4 * self.units), initializer="orthogonal", name="recurrent_kernel"
        )
        self.bias = self.add_weight(shape=(4 * self.units,), initializer=self._initial_bias, name="bias")
        self.peephole_weights = [
            self.add_weight(shape=(self.units,), initializer="zeros", name=f"{gate}_peephole")
            for gate in (("input", "forget", "output") if self.peepholes else ())
        ]

    def _initial_bias(self, shape, dtype=None):
        """Zeros, but ones for the forget gate, as Keras's ``unit_forget_bias``."""
        return tf.concat([tf.zeros(self.units, dtype), tf.ones(self.units, dtype), tf.zeros(2 * self.units, dtype)], 0)

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
            w=_block_order(tf.concat([self.kernel, self.recurrent_kernel], axis=0)),  # one matrix for [x_t, h_{t-1}]
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


@keras.saving.register_keras_serializable(package="rnnbook")
class ProjectedGRU(keras.layers.Layer):
    """A GRU layer that projects every step's input in one matrix multiply, then recurs.

    The same function as ``keras.layers.GRU(units)`` with its default
    ``reset_after=True``, with the same weights (``kernel``,
    ``recurrent_kernel``, ``bias`` of shape (2, 3 * units): input and
    recurrent biases) in the same order. The loop over the time steps is
    unrolled, so the number of steps must be known when the layer is built.

    Args:
        units: Positive integer, the size of the hidden state.
        return_sequences: Return the hidden state of every step, not only
            the last.
    """

    def __init__(self, units, return_sequences=False, **kwargs):
        super().__init__(**kwargs)
        _check_units(units)
        self.units = units
        self.return_sequences = return_sequences

    def build(self, input_shape):
        if input_shape[1] is None:
            raise ValueError("ProjectedGRU unrolls its loop: give the inputs a fixed number of time steps.")
        self.kernel = self.add_weight(shape=(input_shape[-1], 3 * self.units), initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, 3 * self.units), initializer="orthogonal", name="recurrent_kernel"
        )
        self.bias = self.add_weight(shape=(2, 3 * self.units), initializer="zeros", name="bias")

    def call(self, inputs):
        projected = tf.matmul(inputs, self.kernel) + self.bias[0]  # (batch, time steps, 3 * units)
        h = tf.zeros((tf.shape(inputs)[0], self.units), dtype=inputs.dtype)
        outputs = []
        for x in tf.unstack(projected, axis=1):
            x_z, x_r, x_h = tf.split(x, 3, axis=-1)
            h_z, h_r, h_h = tf.split(tf.matmul(h, self.recurrent_kernel) + self.bias[1], 3, axis=-1)
            z = tf.sigmoid(x_z + h_z)
            r = tf.sigmoid(x_r + h_r)
            h = z * h + (1 - z) * tf.tanh(x_h + r * h_h)  # the reset gate acts after the multiply
            outputs.append(h)
        return tf.stack(outputs, axis=1) if self.return_sequences else h

    def compute_output_shape(self, input_shape):
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units)
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "return_sequences": self.return_sequences}
