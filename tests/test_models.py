import keras
import numpy as np
import pytest

from rnnbook import models


def test_single_lstm_parameter_count():
    model = models.single_lstm(100)
    # 4 blocks of (28 inputs + 100 recurrent + 1 bias) x 100 units, then 100 x 10 + 10.
    assert model.count_params() == 4 * (28 + 100 + 1) * 100 + 100 * 10 + 10 == 52_610
    assert model.output_shape == (None, 10)


def test_single_lstm_output_activation():
    rows = np.random.default_rng(0).uniform(size=(3, 28, 28)).astype(np.float32)
    probabilities = np.asarray(models.single_lstm(8, output_activation="softmax")(rows))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    logits = np.asarray(models.single_lstm(8)(rows))
    assert (logits < 0).any()  # logits are not probabilities


def test_same_seed_same_initial_weights():
    def initial_weights():
        keras.utils.set_random_seed(7)
        return models.single_lstm(8).get_weights()

    first, second = initial_weights(), initial_weights()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    keras.utils.set_random_seed(8)
    assert not np.array_equal(first[0], models.single_lstm(8).get_weights()[0])


@pytest.mark.parametrize("num_units", [0, -3])
def test_single_lstm_rejects_bad_width(num_units):
    with pytest.raises(ValueError, match="num_units must be a positive number of units"):
        models.single_lstm(num_units)
