import keras
import numpy as np
import pytest

from rnnbook import gradients, models, reference


def _batch(seed=0, size=4):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (size, 28, 28)).astype("float32"), np.arange(size) % 10


@pytest.mark.parametrize(
    ("kind", "states"),
    [
        ("simple_rnn", {"h"}),
        ("lstm", {"h", "c"}),
        ("gru", {"h"}),
        ("peephole_lstm", {"h", "c"}),
    ],
)
def test_state_gradients_step_the_layer_itself(kind, states):
    keras.utils.set_random_seed(0)
    model = models.stack(kind, 8)
    images, labels = _batch()

    found = gradients.state_gradients(model, images, labels)

    assert {name for name in found if name not in ("loss", "last_state")} == states
    assert all(found[name].shape == (4, 28, 8) for name in states)
    # The cell stepped here is the layer: the same last state as the model's.
    np.testing.assert_allclose(found["last_state"], model.layers[0](images), atol=1e-6)
    # At the last row the gradient is the classifier's: (softmax - one hot) W^T.
    dense_kernel, dense_bias = model.layers[-1].get_weights()
    _, d_logits = reference.cross_entropy(
        found["last_state"] @ dense_kernel + dense_bias, labels
    )
    np.testing.assert_allclose(
        found["h"][:, -1], len(labels) * d_logits @ dense_kernel.T, atol=1e-6
    )
    assert np.abs(found["h"][:, 0]).max() > 0  # and it reaches the first row


def test_state_gradients_need_one_recurrent_layer_then_a_dense_one():
    with pytest.raises(ValueError, match="exactly one recurrent layer"):
        gradients.state_gradients(models.stack("lstm", 4, num_layers=2), *_batch())


def test_state_gradients_reject_images_that_are_not_sequences():
    with pytest.raises(ValueError, match=r"\(batch, time steps, features\)"):
        gradients.state_gradients(
            models.stack("gru", 4), np.zeros((2, 784), "float32"), [0, 1]
        )


def test_norms_by_distance_put_the_last_row_first_and_take_the_median():
    states = np.zeros((3, 4, 2))
    states[:, -1, 0] = [1.0, 2.0, 100.0]  # one outlier: the median ignores it
    states[:, 0, 1] = 0.5

    norms = gradients.norms_by_distance(states)

    np.testing.assert_allclose(norms, [2.0, 0.0, 0.0, 0.5])


def test_norms_by_distance_reject_a_flat_array():
    with pytest.raises(ValueError, match="as state_gradients gives"):
        gradients.norms_by_distance(np.zeros((3, 4)))
