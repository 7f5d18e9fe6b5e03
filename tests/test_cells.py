import keras
import numpy as np
import pytest

from rnnbook import cells, legacy, reference


@pytest.fixture
def peephole_run(run_with_random_weights):
    """A peephole layer with random weights, its outputs and final states on a
    28-step batch."""
    inputs = np.random.default_rng(0).uniform(0, 1, (8, 28, 28)).astype(np.float32)
    layer = keras.layers.RNN(
        cells.PeepholeLSTMCell(12), return_sequences=True, return_state=True
    )
    weights, (outputs, h, c) = run_with_random_weights(layer, inputs, seed=6)
    return inputs, weights, outputs, h, c


def test_weights_have_the_lstm_layout_and_peephole_names():
    layer = keras.layers.RNN(cells.PeepholeLSTMCell(12))
    layer.build((None, 28, 28))
    shapes = {w.path.split("/")[-1]: tuple(w.shape) for w in layer.weights}
    assert shapes == {
        "kernel": (28, 48),
        "recurrent_kernel": (12, 48),
        "bias": (48,),
        "input_peephole": (12,),
        "forget_peephole": (12,),
        "output_peephole": (12,),
    }
    np.testing.assert_array_equal(
        layer.get_weights()[2], np.repeat([0.0, 1.0, 0.0, 0.0], 12)
    )


def test_equals_tf1_peephole_cell(peephole_run):
    inputs, weights, outputs, h, c = peephole_run
    tf1_outputs, (tf1_c, tf1_h) = legacy.run_cell(
        "LSTMCell",
        12,
        inputs,
        legacy.peephole_lstm_weights_to_tf1(*weights),
        use_peepholes=True,
    )
    assert np.abs(outputs - tf1_outputs).max() < 1e-5
    assert np.abs(h - tf1_h).max() < 1e-5
    assert np.abs(c - tf1_c).max() < 1e-5


def test_equals_numpy_twin(peephole_run):
    inputs, weights, outputs, h, c = peephole_run
    expected_outputs, expected_h, expected_c = reference.peephole_lstm(inputs, *weights)
    assert np.abs(outputs - expected_outputs).max() < 1e-5
    assert np.abs(c - expected_c).max() < 1e-5


def test_peepholes_matter(peephole_run):
    inputs, weights, outputs, _, _ = peephole_run
    without = reference.lstm(inputs, *weights[:3])[0]
    assert np.abs(outputs - without).max() > 1e-2


def test_zero_peepholes_is_a_plain_lstm():
    inputs = np.random.default_rng(1).uniform(0, 1, (4, 28, 28)).astype(np.float32)
    peephole = keras.layers.RNN(cells.PeepholeLSTMCell(8), return_sequences=True)
    plain = keras.layers.LSTM(8, return_sequences=True)
    peephole(inputs), plain(inputs)
    plain.set_weights(peephole.get_weights()[:3])  # the peepholes start at zero
    np.testing.assert_allclose(
        np.asarray(peephole(inputs)), np.asarray(plain(inputs)), atol=1e-6
    )


def test_saves_and_loads_with_identical_predictions(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.RNN(
                cells.PeepholeLSTMCell(8, peephole_initializer="random_normal")
            ),
            keras.layers.Dense(10),
        ]
    )
    rows = np.random.default_rng(2).uniform(size=(5, 28, 28)).astype(np.float32)
    path = tmp_path / "peephole.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[0].cell, cells.PeepholeLSTMCell)
    assert loaded.layers[0].cell.get_config() == model.layers[0].cell.get_config()
    np.testing.assert_array_equal(np.asarray(loaded(rows)), np.asarray(model(rows)))


@pytest.mark.parametrize("units", [0, -1, 2.5, "8", True])
def test_rejects_bad_units(units):
    with pytest.raises(ValueError, match="units must be a positive integer"):
        cells.PeepholeLSTMCell(units)


def test_units_may_be_numpy_integers():
    cell = cells.PeepholeLSTMCell(np.int64(4))
    assert (
        cell.units == 4 and type(cell.units) is int
    )  # a plain int, so the config serialises
