import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnbook import cells, fused

INPUTS = np.random.default_rng(0).uniform(0, 1, (6, 28, 28)).astype(np.float32)


def outputs_and_gradients(layer, inputs):
    """The layer's outputs and the gradients of a loss of them w.r.t. its weights and
    inputs."""
    inputs = tf.constant(inputs)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = layer(inputs)
        loss = tf.reduce_sum(
            tf.sin(outputs)
        )  # differs at every output, so every gradient is tested
    gradients = tape.gradient(loss, [*layer.trainable_weights, inputs])
    return np.asarray(outputs), [np.asarray(g) for g in gradients]


def assert_same_function(reference, candidate, run_with_random_weights):
    weights, _ = run_with_random_weights(reference, INPUTS, seed=3)
    candidate(INPUTS)
    assert [w.shape for w in candidate.get_weights()] == [w.shape for w in weights]
    candidate.set_weights(weights)
    expected, expected_gradients = outputs_and_gradients(reference, INPUTS)
    outputs, gradients = outputs_and_gradients(candidate, INPUTS)
    assert np.abs(outputs - expected).max() < 1e-4
    for got, want in zip(gradients, expected_gradients, strict=True):
        assert np.abs(got - want).max() < 1e-4 * max(1.0, np.abs(want).max())


PAIRS = {
    "lstm": (
        lambda **o: keras.layers.LSTM(12, **o),
        lambda **o: fused.FusedLSTM(12, **o),
    ),
    "peephole_lstm": (
        lambda **o: keras.layers.RNN(cells.PeepholeLSTMCell(12), **o),
        lambda **o: fused.FusedLSTM(12, peepholes=True, **o),
    ),
    "gru": (
        lambda **o: keras.layers.GRU(12, **o),
        lambda **o: fused.ProjectedGRU(12, **o),
    ),
    "projected_lstm": (
        lambda **o: keras.layers.LSTM(12, **o),
        lambda **o: fused.ProjectedLSTM(12, **o),
    ),
    "projected_peephole_lstm": (
        lambda **o: keras.layers.RNN(cells.PeepholeLSTMCell(12), **o),
        lambda **o: fused.ProjectedLSTM(12, peepholes=True, **o),
    ),
}


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("kind", PAIRS)
def test_fused_layer_equals_keras_layer(
    kind, return_sequences, run_with_random_weights
):
    reference, candidate = PAIRS[kind]
    assert_same_function(
        reference(return_sequences=return_sequences),
        candidate(return_sequences=return_sequences),
        run_with_random_weights,
    )


LAYERS = [fused.FusedLSTM, fused.ProjectedLSTM, fused.ProjectedGRU]


@pytest.mark.parametrize("make", LAYERS)
def test_initial_weights_match_keras(make):
    keras_layer = (
        keras.layers.GRU if make is fused.ProjectedGRU else keras.layers.LSTM
    )(5)
    layer = make(5)
    keras_layer(INPUTS), layer(INPUTS)
    for ours, theirs in zip(
        layer.get_weights(), keras_layer.get_weights(), strict=True
    ):
        assert ours.shape == theirs.shape
    np.testing.assert_array_equal(
        layer.get_weights()[-1], keras_layer.get_weights()[-1]
    )  # the biases


@pytest.mark.parametrize("make", LAYERS)
def test_save_and_load_gives_the_same_predictions(make, tmp_path):
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            make(8, return_sequences=True),
            make(8),
            keras.layers.Dense(10),
        ]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    np.testing.assert_array_equal(
        keras.models.load_model(path).predict(INPUTS, verbose=0),
        model.predict(INPUTS, verbose=0),
    )


@pytest.mark.parametrize("units", [0, -3, 2.5, "8", True])
def test_bad_units_are_rejected(units):
    for make in LAYERS:
        with pytest.raises(ValueError, match="units must be a positive integer"):
            make(units)


@pytest.mark.parametrize("make", [fused.ProjectedLSTM, fused.ProjectedGRU])
def test_projected_layers_need_a_fixed_number_of_steps(make):
    with pytest.raises(ValueError, match="fixed number of time steps"):
        keras.Sequential([keras.Input((None, 28)), make(4)])
