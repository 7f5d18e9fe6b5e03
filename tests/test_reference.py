import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnbook import gradients, models, reference


@pytest.mark.parametrize("unroll", [False, True])
def test_lstm_matches_keras(unroll, run_with_random_weights):
    inputs = np.random.default_rng(0).uniform(0, 1, (8, 28, 28)).astype(np.float32)
    layer = keras.layers.LSTM(
        16, return_sequences=True, return_state=True, unroll=unroll
    )
    (kernel, recurrent_kernel, bias), (outputs, h, c) = run_with_random_weights(
        layer, inputs, seed=1
    )

    expected_outputs, expected_h, expected_c = reference.lstm(
        inputs, kernel, recurrent_kernel, bias
    )

    assert np.abs(outputs - expected_outputs).max() < 1e-5
    assert np.abs(h - expected_h).max() < 1e-5
    assert np.abs(c - expected_c).max() < 1e-5
    assert np.abs(c).max() > 1.0  # the cell state really accumulated over the steps


def test_lstm_last_output_is_final_hidden_state():
    rng = np.random.default_rng(2)
    kernel, recurrent_kernel, bias = (
        rng.normal(size=(3, 20)),
        rng.normal(size=(5, 20)),
        rng.normal(size=20),
    )
    outputs, h, _ = reference.lstm(
        rng.normal(size=(4, 6, 3)), kernel, recurrent_kernel, bias
    )
    np.testing.assert_array_equal(outputs[:, -1], h)


def test_lstm_gates_rebuild_the_states_of_lstm():
    rng = np.random.default_rng(5)
    inputs = rng.uniform(size=(4, 7, 3))
    kernel, recurrent_kernel, bias = (
        rng.normal(size=(3, 20)),
        rng.normal(size=(5, 20)),
        rng.normal(size=20),
    )
    outputs, _, c = reference.lstm(inputs, kernel, recurrent_kernel, bias)

    gates = reference.lstm_gates(inputs, kernel, recurrent_kernel, bias)

    assert {name: g.shape for name, g in gates.items()} == dict.fromkeys(
        ("input", "forget", "candidate", "output", "cell"), (4, 7, 5)
    )
    np.testing.assert_allclose(
        gates["output"] * np.tanh(gates["cell"]), outputs, atol=1e-12
    )
    np.testing.assert_allclose(gates["cell"][:, -1], c, atol=1e-12)
    h_1, c_1 = reference.lstm_step(
        inputs[:, 0], np.zeros((4, 5)), np.zeros((4, 5)), kernel, recurrent_kernel, bias
    )
    np.testing.assert_allclose(
        gates["input"][:, 0] * gates["candidate"][:, 0], c_1, atol=1e-12
    )  # c_0 = 0


def test_lstm_rejects_mismatched_weights():
    rng = np.random.default_rng(3)
    with pytest.raises(
        ValueError, match=r"kernel has shape \(28, 20\), expected \(3, 20\)"
    ):
        reference.lstm(
            rng.normal(size=(4, 6, 3)),
            rng.normal(size=(28, 20)),
            rng.normal(size=(5, 20)),
            np.zeros(20),
        )


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_matches_keras(reset_after, run_with_random_weights):
    inputs = np.random.default_rng(0).uniform(0, 1, (8, 28, 28)).astype(np.float32)
    layer = keras.layers.GRU(
        16, return_sequences=True, return_state=True, reset_after=reset_after
    )
    (kernel, recurrent_kernel, bias), (outputs, h) = run_with_random_weights(
        layer, inputs, seed=2
    )

    expected_outputs, expected_h = reference.gru(
        inputs, kernel, recurrent_kernel, bias, reset_after=reset_after
    )

    assert np.abs(outputs - expected_outputs).max() < 1e-5
    assert np.abs(h - expected_h).max() < 1e-5


def test_gru_conventions_differ():
    rng = np.random.default_rng(3)
    inputs = rng.uniform(size=(4, 28, 28))
    kernel, recurrent_kernel, bias = (
        rng.normal(size=(28, 30)),
        rng.normal(size=(10, 30)),
        rng.normal(size=30),
    )
    before = reference.gru(inputs, kernel, recurrent_kernel, bias, reset_after=False)[1]
    after = reference.gru(
        inputs,
        kernel,
        recurrent_kernel,
        np.stack([bias, np.zeros(30)]),
        reset_after=True,
    )[1]
    assert np.abs(before - after).max() > 1e-2


def test_gru_rejects_the_other_conventions_bias():
    rng = np.random.default_rng(4)
    with pytest.raises(
        ValueError,
        match=r"bias has shape \(30,\), expected \(2, 30\) for reset_after=True",
    ):
        reference.gru(
            rng.normal(size=(2, 3, 28)),
            rng.normal(size=(28, 30)),
            rng.normal(size=(10, 30)),
            np.zeros(30),
        )


def test_the_cells_take_lists_as_well_as_arrays():
    rng = np.random.default_rng(6)
    inputs, kernel, recurrent_kernel = (
        rng.normal(size=(2, 4, 3)),
        rng.normal(size=(3, 8)),
        rng.normal(size=(2, 8)),
    )
    bias = rng.normal(size=8)
    as_lists = [a.tolist() for a in (inputs, kernel, recurrent_kernel, bias)]
    reference.check_weights(*as_lists, num_blocks=4)
    for got, want in zip(
        reference.lstm(*as_lists),
        reference.lstm(inputs, kernel, recurrent_kernel, bias),
    ):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        reference.peephole_lstm(*as_lists, [0.1, 0.2], [0.3, 0.4], [0.5, 0.6])[1],
        reference.peephole_lstm(
            inputs,
            kernel,
            recurrent_kernel,
            bias,
            *np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]),
        )[1],
    )
    gru_weights = (
        rng.normal(size=(3, 6)),
        rng.normal(size=(2, 6)),
        rng.normal(size=(2, 6)),
    )
    np.testing.assert_array_equal(
        reference.gru(inputs.tolist(), *(w.tolist() for w in gru_weights))[1],
        reference.gru(inputs, *gru_weights)[1],
    )


def test_check_close_prints_a_small_difference(capsys):
    reference.check_close("same", np.ones(3), np.ones(3) + 2e-7, 1e-6)
    assert (
        capsys.readouterr().out
        == "same: largest |difference| 2.0e-07 (tolerance 1e-06)\n"
    )


@pytest.mark.parametrize("wrong", [0.3, np.nan])
def test_check_close_raises_over_its_tolerance(wrong):
    with pytest.raises(AssertionError, match="over the tolerance 1e-05"):
        reference.check_close("outputs", [0.0, wrong], [0.0, 0.0], 1e-5)


def test_check_close_needs_like_shapes():
    with pytest.raises(ValueError, match=r"shapes \(2,\) and \(3,\) differ"):
        reference.check_close("outputs", np.zeros(2), np.zeros(3), 1e-5)


def test_check_small_raises_over_its_tolerance(capsys):
    reference.check_small("relative differences", [1e-7, -3e-7], 1e-6)
    assert "largest |difference| 3.0e-07" in capsys.readouterr().out
    with pytest.raises(
        AssertionError,
        match="relative differences: largest \\|difference\\| 3.00e-01 is over",
    ):
        reference.check_small("relative differences", [1e-7, 0.3], 1e-6)
    with pytest.raises(ValueError, match="no differences"):
        reference.check_small("relative differences", [], 1e-6)


def test_check_far_raises_when_two_things_agree():
    with pytest.raises(AssertionError, match="they should differ"):
        reference.check_far("with and without peepholes", np.ones(3), np.ones(3), 1e-3)


def _simple_rnn_classifier(seed, units=12):
    """A SimpleRNN classifier with random weights, and a batch of rows to read."""
    keras.utils.set_random_seed(seed)
    model = models.stack("simple_rnn", units)
    # Pixels up to 0.3 keep tanh out of saturation, so that a gradient still
    # reaches the first row (at 1.0 it is 1e-4 there, too small to check).
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(0, 0.3, (6, 28, 28)).astype("float32")
    labels = np.arange(6) % 10
    return model, inputs, labels


def _tape_gradients(model, inputs, labels):
    """Keras's loss and gradients by tf.GradientTape: weights, inputs and states."""
    x = tf.constant(inputs)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
            labels, model(x)
        )
    weights = model.trainable_weights
    found = tape.gradient(loss, [*weights, x])
    names = ["kernel", "recurrent_kernel", "bias", "dense_kernel", "dense_bias"]
    expected = dict(zip(names, (np.asarray(g) for g in found[:-1]), strict=True))
    expected["inputs"] = np.asarray(found[-1])
    # state_gradients sums the loss over the batch; the mean loss is that / batch.
    expected["states"] = gradients.state_gradients(model, inputs, labels)["h"] / len(
        labels
    )
    return float(loss), expected


def test_simple_rnn_bptt_matches_gradient_tape():
    model, inputs, labels = _simple_rnn_classifier(seed=3)
    tape_loss, expected = _tape_gradients(model, inputs, labels)

    loss, found = reference.simple_rnn_gradients(inputs, labels, *model.get_weights())

    assert abs(loss - tape_loss) < 1e-5
    assert set(found) == set(expected)
    for name in expected:
        scale = max(1.0, np.abs(expected[name]).max())
        assert np.abs(found[name] - expected[name]).max() / scale < 1e-5, name
    # Row by row too, relative to each row's largest gradient: the early rows'
    # are smaller, and an absolute 1e-5 alone would let them be wrong.
    states = expected["states"]
    relative = np.abs(found["states"] - states).max(axis=(0, 2)) / np.abs(states).max(
        axis=(0, 2)
    )
    assert relative.max() < 1e-5
    # The check is not vacuous: the gradient reaches the first row, and not only
    # through the last step.
    assert np.abs(states[:, 0]).max() > 1e-3
    assert np.abs(expected["recurrent_kernel"]).max() > 1e-3


@pytest.mark.parametrize(
    "perturbation",
    [
        "recurrent kernel not transposed",
        "hidden states zeroed",
        "truncated after one step",
    ],
)
def test_simple_rnn_bptt_check_fails_on_a_perturbed_backward_pass(perturbation):
    """The comparison above catches each of three plausible mistakes in BPTT."""

    def perturbed(inputs, outputs, kernel, recurrent_kernel, d_outputs):
        if perturbation == "recurrent kernel not transposed":
            recurrent_kernel = recurrent_kernel.T  # the code multiplies by its .T
        elif perturbation == "hidden states zeroed":
            # tanh' = 1 - h^2 is then 1 everywhere, and h_{t-1} zero in dU
            outputs = np.zeros_like(outputs)
        elif perturbation == "truncated after one step":
            recurrent_kernel = np.zeros_like(recurrent_kernel)
        return reference.simple_rnn_backward(
            inputs, outputs, kernel, recurrent_kernel, d_outputs
        )

    model, inputs, labels = _simple_rnn_classifier(seed=3)
    _, expected = _tape_gradients(model, inputs, labels)
    weights = model.get_weights()
    _, found = reference.simple_rnn_gradients(
        inputs, labels, *weights, backward=perturbed
    )
    _, right = reference.simple_rnn_gradients(inputs, labels, *weights)

    worst = max(
        np.abs(found[name] - expected[name]).max()
        for name in ("kernel", "recurrent_kernel", "states")
    )
    best = max(
        np.abs(right[name] - expected[name]).max()
        for name in ("kernel", "recurrent_kernel", "states")
    )
    assert best < 1e-5 < worst


def test_cross_entropy_rejects_labels_that_do_not_pair_with_logits():
    with pytest.raises(ValueError, match="one integer per row of logits"):
        reference.cross_entropy(np.zeros((4, 10)), np.zeros(3, int))


def test_simple_rnn_backward_rejects_a_misshapen_upstream_gradient():
    inputs, kernel = np.zeros((2, 5, 3)), np.zeros((3, 4))
    outputs, _ = reference.simple_rnn(inputs, kernel, np.zeros((4, 4)), np.zeros(4))
    with pytest.raises(ValueError, match="shaped like outputs"):
        reference.simple_rnn_backward(
            inputs, outputs, kernel, np.zeros((4, 4)), np.zeros((2, 4))
        )
