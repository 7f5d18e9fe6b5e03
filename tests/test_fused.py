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
    assert np.abs(outputs - expected).max() < 1e-5
    for got, want in zip(gradients, expected_gradients, strict=True):
        assert np.abs(got - want).max() < 1e-5 * max(1.0, np.abs(want).max())


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
    "projected_gru_reset_before": (
        lambda **o: keras.layers.GRU(12, reset_after=False, **o),
        lambda **o: fused.ProjectedGRU(12, reset_after=False, **o),
    ),
    "concat_lstm": (
        lambda **o: keras.layers.LSTM(12, **o),
        lambda **o: fused.ConcatLSTM(12, **o),
    ),
    "concat_peephole_lstm": (
        lambda **o: keras.layers.RNN(cells.PeepholeLSTMCell(12), **o),
        lambda **o: fused.ConcatLSTM(12, peepholes=True, **o),
    ),
    "concat_gru": (
        lambda **o: keras.layers.GRU(12, reset_after=False, **o),
        lambda **o: fused.ConcatGRU(12, **o),
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


def test_the_equality_check_sees_a_wrong_gate(run_with_random_weights):
    """The check above fails on a layer that differs from Keras's in one gate."""

    class WrongForgetGate(fused.ConcatLSTM):
        def update(self, z, c):
            z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
            return super().update(tf.concat([z_i, 1.01 * z_f, z_c, z_o], -1), c)

    with pytest.raises(AssertionError):
        assert_same_function(
            keras.layers.LSTM(12), WrongForgetGate(12), run_with_random_weights
        )


LAYERS = [
    fused.FusedLSTM,
    fused.ProjectedLSTM,
    fused.ProjectedGRU,
    fused.ConcatLSTM,
    fused.ConcatGRU,
]
KERAS_OF = {
    fused.ProjectedGRU: keras.layers.GRU,
    fused.ConcatGRU: lambda units: keras.layers.GRU(units, reset_after=False),
}


def test_concat_gru_has_tf1s_convention_only():
    with pytest.raises(ValueError, match="reset_after must be False"):
        fused.ConcatGRU(4, reset_after=True)


@pytest.mark.parametrize("make", LAYERS)
def test_initial_weights_match_keras(make):
    keras_layer = KERAS_OF.get(make, keras.layers.LSTM)(5)
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


@pytest.mark.parametrize("make", LAYERS[1:])
def test_unrolled_layers_need_a_fixed_number_of_steps(make):
    with pytest.raises(ValueError, match="fixed number of time steps"):
        keras.Sequential([keras.Input((None, 28)), make(4)])
