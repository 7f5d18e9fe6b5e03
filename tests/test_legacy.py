import keras
import numpy as np
import pytest

from rnnbook import legacy


@pytest.mark.parametrize("cell_name", ["LSTMCell", "BasicLSTMCell"])
def test_keras_lstm_equals_tf1_cell_with_mapped_weights(cell_name, run_with_random_weights):
    inputs = np.random.default_rng(0).uniform(0, 1, (8, 28, 28)).astype(np.float32)
    layer = keras.layers.LSTM(12, return_sequences=True, return_state=True)
    (kernel, recurrent_kernel, bias), (outputs, h, c) = run_with_random_weights(layer, inputs, seed=4)

    tf1_outputs, (tf1_c, tf1_h) = legacy.run_cell(
        cell_name, 12, inputs, legacy.lstm_weights_to_tf1(kernel, recurrent_kernel, bias)
    )

    assert np.abs(outputs - tf1_outputs).max() < 1e-5
    assert np.abs(h - tf1_h).max() < 1e-5
    assert np.abs(c - tf1_c).max() < 1e-5


def test_forget_bias_is_part_of_the_mapping(run_with_random_weights):
    inputs = np.random.default_rng(1).uniform(0, 1, (4, 28, 28)).astype(np.float32)
    layer = keras.layers.LSTM(6, return_sequences=True)
    weights, outputs = run_with_random_weights(layer, inputs, seed=5)
    # Mapping as if TF1 added no forget bias leaves the forget gates 1.0 too open.
    unshifted, _ = legacy.run_cell("LSTMCell", 6, inputs, legacy.lstm_weights_to_tf1(*weights, forget_bias=0.0))
    assert np.abs(outputs - unshifted).max() > 1e-2


def test_weights_must_name_every_variable():
    with pytest.raises(ValueError, match=r"LSTMCell has the variables \['bias', 'kernel'\], but weights were given for \['kernel'\]"):
        legacy.run_cell("LSTMCell", 3, np.zeros((1, 2, 2)), {"kernel": np.zeros((5, 12))})


def test_unknown_cell_name():
    with pytest.raises(ValueError, match="Unknown TF1 cell 'PeepholeCell'"):
        legacy.make_cell("PeepholeCell", 3)


def test_keras_gru_equals_tf1_gru_cell_with_mapped_weights(run_with_random_weights):
    inputs = np.random.default_rng(2).uniform(0, 1, (8, 28, 28)).astype(np.float32)
    layer = keras.layers.GRU(10, return_sequences=True, return_state=True, reset_after=False)
    weights, (outputs, h) = run_with_random_weights(layer, inputs, seed=7)

    tf1_outputs, tf1_h = legacy.run_cell("GRUCell", 10, inputs, legacy.gru_weights_to_tf1(*weights))

    assert np.abs(outputs - tf1_outputs).max() < 1e-5
    assert np.abs(h - tf1_h).max() < 1e-5


def test_gru_mapping_needs_reset_before():
    layer = keras.layers.GRU(4)  # reset_after=True: two biases
    layer.build((None, 28, 28))
    with pytest.raises(ValueError, match="map a GRU with reset_after=False"):
        legacy.gru_weights_to_tf1(*layer.get_weights())
