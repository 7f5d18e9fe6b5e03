"""Keras 3 cells that the library lacks: the LSTM with peephole connections.

Keras 3 has no peephole LSTM (``tf.keras.experimental.PeepholeLSTMCell`` is
gone), so the book writes its own, in ``keras.ops`` only, so that it runs on
every Keras backend (chapter 5, "A Keras 3 cell for peepholes").
"""

import numbers

import keras
from keras import ops

__all__ = [
    "PeepholeLSTMCell",
    "KeepGateBias",
    "check_units",
    "unit_forget_bias",
]


def check_units(units, name="units"):
    """`units` as an int if it is a positive whole number; else raise, naming `name`.

    NumPy integers pass, as Keras accepts them; booleans and floats do not.
    Every layer and builder of the book checks its width through here.
    """
    if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
        raise ValueError(f"{name} must be a positive integer, got {units!r}.")
    return int(units)


def unit_forget_bias(units, bias_initializer="zeros"):
    """The initializer of an LSTM bias (4 * units,) with Keras's ``unit_forget_bias``.

    `bias_initializer` for the input, candidate and output blocks and ones
    for the forget gate's, so that a new cell keeps its state at first
    (Jozefowicz et al., 2015), as ``keras.layers.LSTMCell`` starts.
    """
    bias_initializer = keras.initializers.get(bias_initializer)

    def initializer(shape, dtype=None):
        return ops.concatenate(
            [
                bias_initializer((units,), dtype=dtype),
                ops.ones((units,), dtype=dtype),
                bias_initializer((2 * units,), dtype=dtype),
            ]
        )

    return initializer


@keras.saving.register_keras_serializable(package="rnnbook")
class KeepGateBias(keras.initializers.Initializer):
    """A gated cell's bias: zero, except the gate that keeps the state, at `value`.

    The gate that keeps the state is block `block` of `num_blocks` side by
    side: the forget gate of an LSTM (block 1 of i, f, c, o) or the update
    gate of a GRU (block 0 of z, r, h). A GRU with ``reset_after=True`` has a
    (2, 3 * units) bias, an input and a recurrent row; `value` goes into the
    input row. Chapter 2 ("Why the untrained gates forget") starts these
    gates open with it, where Keras starts them at 1 (LSTM) and 0 (GRU).
    """

    def __init__(self, value, block, num_blocks):
        self.value, self.block, self.num_blocks = float(value), block, num_blocks

    def __call__(self, shape, dtype=None):
        units = shape[-1] // self.num_blocks
        mask = ops.arange(shape[-1]) // units == self.block
        row = ops.where(mask, self.value, 0.0)
        if len(shape) == 2:
            row = ops.stack([row, ops.zeros_like(row)])
        return ops.cast(row, dtype or "float32")

    def get_config(self):
        return {"value": self.value, "block": self.block, "num_blocks": self.num_blocks}


@keras.saving.register_keras_serializable(package="rnnbook")
class PeepholeLSTMCell(keras.layers.Layer):
    """An LSTM cell whose gates also see the cell state, for ``keras.layers.RNN``.

    The weights follow ``keras.layers.LSTMCell``: ``kernel`` (input_dim,
    4 * units), ``recurrent_kernel`` (units, 4 * units) and ``bias``
    (4 * units,), blocks in the gate order i, f, c, o. Three peephole vectors
    of shape (units,) are added, as in Gers, Schraudolph & Schmidhuber (2002)
    and TF1's ``LSTMCell(use_peepholes=True)``: the input and forget gates see
    the previous cell state c_{t-1}, the output gate sees the new c_t.

    Args:
        units: Positive integer, the size of the hidden and cell states.
        activation: For the candidate and for the cell state's output.
        recurrent_activation: For the three gates.
        kernel_initializer, recurrent_initializer, bias_initializer: As in
            ``keras.layers.LSTMCell``.
        peephole_initializer: For the three peephole vectors. The default,
            zeros, starts training from a plain LSTM.
        unit_forget_bias: Start the forget gate's bias at 1, as Keras does.
        **kwargs: Passed to ``keras.layers.Layer``, such as ``name``.

    Call arguments:
        inputs: One time step's input, (batch, input_dim).
        states: The previous ``[h, c]``, each (batch, units).
        training: Unused (the cell has no dropout); ``keras.layers.RNN``
            passes it.

    Example:

    >>> import numpy as np
    >>> layer = keras.layers.RNN(PeepholeLSTMCell(16), return_sequences=True)
    >>> tuple(layer(np.zeros((2, 28, 28), "float32")).shape)
    (2, 28, 16)
    >>> [weight.name for weight in layer.weights][3:]
    ['input_peephole', 'forget_peephole', 'output_peephole']
    """

    def __init__(
        self,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        peephole_initializer="zeros",
        unit_forget_bias=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        units = check_units(units)
        self.units = units
        self.activation = keras.activations.get(activation)
        self.recurrent_activation = keras.activations.get(recurrent_activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.peephole_initializer = keras.initializers.get(peephole_initializer)
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]  # h, c: the order of keras.layers.LSTMCell
        self.output_size = units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, 4 * self.units),
            initializer=self.kernel_initializer,
            name="kernel",
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, 4 * self.units),
            initializer=self.recurrent_initializer,
            name="recurrent_kernel",
        )
        bias_initializer = (
            unit_forget_bias(self.units, self.bias_initializer)
            if self.unit_forget_bias
            else self.bias_initializer
        )
        self.bias = self.add_weight(
            shape=(4 * self.units,), initializer=bias_initializer, name="bias"
        )
        self.input_peephole, self.forget_peephole, self.output_peephole = (
            self.add_weight(
                shape=(self.units,),
                initializer=self.peephole_initializer,
                name=f"{gate}_peephole",
            )
            for gate in ("input", "forget", "output")
        )

    def call(self, inputs, states, training=False):
        h_previous, c_previous = states
        z = (
            ops.matmul(inputs, self.kernel)
            + ops.matmul(h_previous, self.recurrent_kernel)
            + self.bias
        )
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i + self.input_peephole * c_previous)
        f = self.recurrent_activation(z_f + self.forget_peephole * c_previous)
        c = f * c_previous + i * self.activation(z_c)
        o = self.recurrent_activation(
            z_o + self.output_peephole * c
        )  # sees the new c_t
        h = o * self.activation(c)
        return h, [h, c]

    def get_initial_state(self, batch_size=None):
        return [
            ops.zeros((batch_size, self.units), dtype=self.compute_dtype)
            for _ in range(2)
        ]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "recurrent_activation": keras.activations.serialize(
                self.recurrent_activation
            ),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(
                self.recurrent_initializer
            ),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "peephole_initializer": keras.initializers.serialize(
                self.peephole_initializer
            ),
            "unit_forget_bias": self.unit_forget_bias,
        }
