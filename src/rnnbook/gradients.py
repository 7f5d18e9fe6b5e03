"""Gradients through time, measured on a Keras model (chapter 2, "Why gates").

Training a recurrent network sends the loss's gradient back from the last
row to the first. How much of it arrives t rows back decides whether the
network can learn from the top of a digit at all. `state_gradients` measures
it: it steps a one-layer model's recurrent cell over the rows itself, under
``tf.GradientTape``, so that every state h_t (and c_t for an LSTM) is a
tensor the tape can differentiate the loss by, and returns dL/dh_t for
every row. `norms_by_distance` summarises them the way the chapter plots
them: the typical size of the gradient against the rows between t and the
last row.
"""

import keras
import numpy as np
import tensorflow as tf

__all__ = ["state_gradients", "norms_by_distance"]


def state_gradients(model, images, labels):
    """The gradient of each image's loss with respect to every state of `model`.

    Args:
        model: A one-layer model as `rnnbook.models.stack` builds it: one
            recurrent layer (SimpleRNN, LSTM, GRU, peephole LSTM) that returns
            its last state, then a dense layer of logits.
        images: (batch, time steps, features) rows.
        labels: (batch,) integer labels.

    Returns:
        A dict of (batch, time steps, units) NumPy arrays: ``"h"``, dL_i/dh_t
        of image i's own cross-entropy L_i (the loss summed over the batch,
        so that each image's gradient does not shrink with the batch size),
        and ``"c"`` for a cell with a second state (the LSTM's cell state),
        plus ``"loss"``, the mean loss. The states are stepped here with the
        layer's own cell and weights; `last_state` is the layer's output for
        the same images, which the tests compare.
    """
    layer, classifier = _layers(model)
    inputs = tf.convert_to_tensor(np.asarray(images, np.float32))
    if inputs.shape.rank != 3:
        raise ValueError(
            f"images must be (batch, time steps, features), got shape {inputs.shape}."
        )
    sizes = layer.cell.state_size
    sizes = list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]
    states = [tf.zeros((inputs.shape[0], size)) for size in sizes]
    steps = []
    with tf.GradientTape() as tape:
        for t in range(inputs.shape[1]):
            output, states = layer.cell(inputs[:, t], states)
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            steps.append(states)
        logits = classifier(output)
        losses = keras.losses.sparse_categorical_crossentropy(
            labels, logits, from_logits=True
        )
        loss = tf.reduce_sum(losses)
    gradients = tape.gradient(loss, steps)
    names = ["h", "c"][: len(sizes)]
    found = {
        name: np.stack([np.asarray(step[k]) for step in gradients], axis=1)
        for k, name in enumerate(names)
    }
    return {
        **found,
        "loss": float(tf.reduce_mean(losses)),
        "last_state": np.asarray(output),
    }


def norms_by_distance(gradients):
    """The median over images of ||dL/dh_t||, by rows from t to the last row.

    `gradients` is (batch, time steps, units), as `state_gradients` gives
    it. Entry d of the result is the median norm at t = T - d: entry 0 is the
    last row, where the classifier reads the state; the last entry is the
    first row. The median, because the norms of single images spread over
    orders of magnitude and a mean would follow the largest few.
    """
    gradients = np.asarray(gradients, np.float64)
    if gradients.ndim != 3:
        raise ValueError(
            "gradients must be (batch, time steps, units), as state_gradients gives"
            f" them; got shape {gradients.shape}."
        )
    norms = np.linalg.norm(gradients, axis=-1)  # (batch, time steps)
    return np.median(norms, axis=0)[::-1]


def _layers(model):
    """The one recurrent layer of `model` and the dense layer after it."""
    recurrent = [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]
    if len(recurrent) != 1 or not isinstance(model.layers[-1], keras.layers.Dense):
        raise ValueError(
            f"Model {model.name!r} must have exactly one recurrent layer and end in a"
            f" Dense layer (got {[type(layer).__name__ for layer in model.layers]});"
            " build it with rnnbook.models.stack(kind, num_units)."
        )
    if model.layers.index(recurrent[0]) != 0:
        raise ValueError(
            f"Model {model.name!r} has layers before its recurrent layer; the gradients"
            " are measured on the rows the recurrent layer reads."
        )
    return recurrent[0], model.layers[-1]
