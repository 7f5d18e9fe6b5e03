import keras
import numpy as np
import pytest

from rnnbook import config, legacy


@pytest.mark.parametrize("cell_name", ["LSTMCell", "BasicLSTMCell"])
def test_keras_lstm_equals_tf1_cell_with_mapped_weights(
    cell_name, run_with_random_weights
):
    inputs = np.random.default_rng(0).uniform(0, 1, (8, 28, 28)).astype(np.float32)
    layer = keras.layers.LSTM(12, return_sequences=True, return_state=True)
    (kernel, recurrent_kernel, bias), (outputs, h, c) = run_with_random_weights(
        layer, inputs, seed=4
    )

    tf1_outputs, (tf1_c, tf1_h) = legacy.run_cell(
        cell_name,
        12,
        inputs,
        legacy.lstm_weights_to_tf1(kernel, recurrent_kernel, bias),
    )

    assert np.abs(outputs - tf1_outputs).max() < 1e-5
    assert np.abs(h - tf1_h).max() < 1e-5
    assert np.abs(c - tf1_c).max() < 1e-5


def test_forget_bias_is_part_of_the_mapping(run_with_random_weights):
    inputs = np.random.default_rng(1).uniform(0, 1, (4, 28, 28)).astype(np.float32)
    layer = keras.layers.LSTM(6, return_sequences=True)
    weights, outputs = run_with_random_weights(layer, inputs, seed=5)
    # Mapping as if TF1 added no forget bias leaves the forget gates 1.0 too open.
    unshifted, _ = legacy.run_cell(
        "LSTMCell", 6, inputs, legacy.lstm_weights_to_tf1(*weights, forget_bias=0.0)
    )
    assert np.abs(outputs - unshifted).max() > 1e-2


def test_weights_must_name_every_variable():
    with pytest.raises(
        ValueError,
        match=(
            r"LSTMCell has the variables \['bias', 'kernel'\], but weights were given"
            r" for \['kernel'\]"
        ),
    ):
        legacy.run_cell(
            "LSTMCell", 3, np.zeros((1, 2, 2)), {"kernel": np.zeros((5, 12))}
        )


def test_unknown_cell_name():
    with pytest.raises(ValueError, match="Unknown TF1 cell 'PeepholeCell'"):
        legacy.make_cell("PeepholeCell", 3)


def test_keras_gru_equals_tf1_gru_cell_with_mapped_weights(run_with_random_weights):
    inputs = np.random.default_rng(2).uniform(0, 1, (8, 28, 28)).astype(np.float32)
    layer = keras.layers.GRU(
        10, return_sequences=True, return_state=True, reset_after=False
    )
    weights, (outputs, h) = run_with_random_weights(layer, inputs, seed=7)

    tf1_outputs, tf1_h = legacy.run_cell(
        "GRUCell", 10, inputs, legacy.gru_weights_to_tf1(*weights)
    )

    assert np.abs(outputs - tf1_outputs).max() < 1e-5
    assert np.abs(h - tf1_h).max() < 1e-5


def test_gru_mapping_needs_reset_before():
    layer = keras.layers.GRU(4)  # reset_after=True: two biases
    layer.build((None, 28, 28))
    with pytest.raises(ValueError, match="map a GRU with reset_after=False"):
        legacy.gru_weights_to_tf1(*layer.get_weights())


def test_next_batch_visits_every_image_once_per_epoch_then_reshuffles():
    images, labels = np.arange(10 * 784).reshape(10, 28, 28), np.arange(10) % 10
    dataset = legacy.DataSet(images, labels, one_hot=True, seed=0)

    batches = [dataset.next_batch(4) for _ in range(5)]  # 20 images: two epochs

    first_epoch = np.concatenate([b[1] for b in batches])[:10].argmax(axis=1)
    assert sorted(first_epoch) == list(range(10))
    assert batches[0][0].shape == (4, 784) and batches[0][1].shape == (4, 10)
    second_epoch = np.concatenate([b[1] for b in batches])[10:].argmax(axis=1)
    assert sorted(second_epoch) == list(range(10)) and list(second_epoch) != list(
        first_epoch
    )
    np.testing.assert_array_equal(
        batches[0][0][:, 0] // 784, batches[0][1].argmax(axis=1)
    )  # images stay with labels


@pytest.mark.parametrize("batch_size", [0, 11])
def test_next_batch_rejects_impossible_sizes(batch_size):
    dataset = legacy.DataSet(
        np.zeros((10, 28, 28)), np.zeros(10, int), one_hot=False, seed=0
    )
    with pytest.raises(ValueError, match="batch_size must be between 1 and 10"):
        dataset.next_batch(batch_size)


def test_read_data_sets_gives_the_profiles_splits(mnist_folder):
    mnist = legacy.read_data_sets(config.get_profile("smoke"), one_hot=True)
    sizes = config.get_profile("smoke").data
    assert (
        mnist.train.num_examples,
        mnist.validation.num_examples,
        mnist.test.num_examples,
    ) == (sizes.num_train, sizes.num_validation, sizes.num_test)
    assert mnist.test.images.shape == (
        sizes.num_test,
        784,
    ) and mnist.test.labels.shape == (sizes.num_test, 10)


@pytest.mark.parametrize(
    "cell_name, num_layers, options",
    [
        ("BasicLSTMCell", 1, {}),
        ("LSTMCell", 2, {"use_peepholes": True}),
        ("GRUCell", 2, {}),
    ],
)
def test_tf1_training_step_learns_a_fixed_batch(cell_name, num_layers, options):
    rng = np.random.default_rng(0)
    images, labels = (
        rng.uniform(size=(20, 28, 28)).astype(np.float32),
        rng.integers(0, 10, 20),
    )
    with legacy.training_step(
        cell_name, 16, num_layers, learning_rate=1e-2, **options
    ) as step:
        losses = [step(images, labels) for _ in range(100)]

    assert losses[-1] < 0.5 * losses[0]


def test_tf1_training_steps_built_alike_start_alike():
    images, labels = np.ones((4, 28, 28), np.float32), np.arange(4)
    first_losses = {}
    for seed in (0, 0, 1):
        with legacy.training_step("LSTMCell", 8, 2, seed=seed) as step:
            first_losses.setdefault(seed, []).append(step(images, labels))
    assert first_losses[0][0] == first_losses[0][1]
    assert first_losses[1][0] != first_losses[0][0]


def test_a_closed_tf1_training_step_says_so():
    images, labels = np.zeros((2, 28, 28), np.float32), np.zeros(2, np.int64)
    step = legacy.training_step("GRUCell", 4)
    session = step._session
    step(images, labels)
    step.close()
    step.close()  # harmless
    assert session._closed
    with pytest.raises(RuntimeError, match="closed; build a new one"):
        step(images, labels)
