"""Builders for every model the book trains.

Each builder returns an uncompiled ``keras.Model`` that reads a batch of
(28, 28) row sequences and ends in 10 outputs. Compiling (loss, optimizer)
is the chapters' business, because that is where the models differ in what
they teach.
"""

import keras

from rnnbook import data

# The layers run with `unroll=True`: for 28 steps, Keras then builds one
# straight-line graph instead of a `tf.while_loop`, which trains faster on
# the CPU (chapter 7 measures it). The arithmetic is the same.
UNROLL = True

INPUT_SHAPE = (data.IMAGE_SIZE, data.IMAGE_SIZE)


def single_lstm(num_units, output_activation=None, name="single_lstm"):
    """One LSTM layer of `num_units` read over the rows, then a dense layer (chapter 2).

    As in the TF1 program this replaces, the classifier reads the final hidden
    state h and its dense layer starts from a truncated normal (stddev 0.1)
    with biases 0.1. With ``output_activation=None`` it returns logits; the
    program as written applied ``"softmax"`` here, before a loss that applies
    softmax again.
    """
    if num_units < 1:
        raise ValueError(f"num_units must be a positive number of units, got {num_units}.")
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE, name="rows"),
            keras.layers.LSTM(num_units, unroll=UNROLL, name="lstm"),
            keras.layers.Dense(
                data.NUM_CLASSES,
                activation=output_activation,
                kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.1),
                bias_initializer=keras.initializers.Constant(0.1),
                name="classifier",
            ),
        ],
        name=name,
    )
