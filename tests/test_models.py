import keras
import numpy as np
import pytest

from rnnbook import models, reference


def test_single_lstm_parameter_count():
    model = models.single_lstm(100)
    # 4 blocks of (28 inputs + 100 recurrent + 1 bias) x 100 units, then 100 x 10 + 10.
    assert model.count_params() == 4 * (28 + 100 + 1) * 100 + 100 * 10 + 10 == 52_610
    assert model.output_shape == (None, 10)


def test_single_lstm_output_activation():
    rows = np.random.default_rng(0).uniform(size=(3, 28, 28)).astype(np.float32)
    probabilities = np.asarray(models.single_lstm(8, output_activation="softmax")(rows))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    model = models.single_lstm(8)
    assert (
        model.get_layer("classifier").activation is keras.activations.linear
    )  # logits
    # Logits may all be positive (the biases start at 0.1), but they are not normalized.
    logits = np.asarray(model(rows))
    assert not np.allclose(logits.sum(axis=1), 1.0, rtol=1e-5)


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
    with pytest.raises(ValueError, match="num_units must be a positive integer"):
        models.single_lstm(num_units)


@pytest.mark.parametrize(
    "kind, num_units, num_layers, expected",
    [
        (
            "lstm",
            150,
            3,
            4 * (28 + 150 + 1) * 150 + 2 * 4 * (150 + 150 + 1) * 150 + 1_510,
        ),
        ("lstm", 150, 1, 4 * (28 + 150 + 1) * 150 + 1_510),
        ("peephole_lstm", 100, 1, 4 * (28 + 100 + 1) * 100 + 3 * 100 + 1_010),
        # Keras's GRU defaults to reset_after=True: two bias vectors per block.
        ("gru", 100, 1, 3 * (28 + 100 + 2) * 100 + 1_010),
        ("simple_rnn", 100, 1, (28 + 100 + 1) * 100 + 1_010),
    ],
)
def test_stack_parameter_counts(kind, num_units, num_layers, expected):
    model = models.stack(kind, num_units, num_layers)
    assert model.count_params() == expected
    recurrent = [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]
    assert [layer.return_sequences for layer in recurrent] == [True] * (
        num_layers - 1
    ) + [False]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(kind="lstn", num_units=10),
            "Unknown kind of layer 'lstn'; choose one of lstm, peephole_lstm, gru",
        ),
        (dict(kind="lstm", num_units=0), "num_units must be a positive integer, got 0"),
        (
            dict(kind="lstm", num_units=2.5),
            "num_units must be a positive integer, got 2.5",
        ),
        (
            dict(kind="lstm", num_units=10, num_layers=0),
            "num_layers must be a positive integer, got 0",
        ),
        (
            dict(kind="lstm", num_units=10, return_sequences=True),
            "stack sets return_sequences of each layer itself",
        ),
    ],
)
def test_stack_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.stack(**kwargs)


def test_hidden_states_show_every_layer_at_every_step():
    keras.utils.set_random_seed(0)
    model = models.stack("lstm", 6, num_layers=2)
    rows = np.random.default_rng(0).uniform(size=(3, 28, 28)).astype(np.float32)
    bottom, top = (np.asarray(s) for s in models.hidden_states(model)(rows))
    assert bottom.shape == top.shape == (3, 28, 6)
    # The copy carries the trained weights: its last step is what the classifier reads.
    reader = keras.Model(model.inputs[0], model.get_layer("lstm_2").output)
    np.testing.assert_allclose(top[:, -1], np.asarray(reader(rows)), atol=1e-6)


def test_stack_appends_blank_rows_before_the_first_layer():
    keras.utils.set_random_seed(0)
    model = models.stack("simple_rnn", 6, blank_rows=3)
    rows = np.random.default_rng(0).uniform(size=(2, 28, 28)).astype(np.float32)

    states = np.asarray(models.hidden_states(model)(rows)[0])

    assert states.shape == (2, 31, 6)  # 28 rows of the digit, then 3 blank ones
    layer = model.get_layer("simple_rnn_1")
    kernel, recurrent_kernel, bias = layer.get_weights()
    padded = np.concatenate([rows, np.zeros((2, 3, 28), np.float32)], axis=1)
    expected, _ = reference.simple_rnn(padded, kernel, recurrent_kernel, bias)
    np.testing.assert_allclose(states, expected, atol=1e-5)
    assert model.count_params() == models.stack("simple_rnn", 6).count_params()
    assert models.Spec.of("stack", kind="gru", num_units=4, blank_rows=0) == (
        models.Spec.of("stack", kind="gru", num_units=4)
    )


@pytest.mark.parametrize("blank_rows", [-1, 2.5, True])
def test_stack_rejects_a_bad_number_of_blank_rows(blank_rows):
    with pytest.raises(ValueError, match="blank_rows must be a whole number"):
        models.stack("lstm", 4, blank_rows=blank_rows)


def test_a_bidirectional_stack_has_two_copies_of_each_layer():
    model = models.stack("lstm", 100, bidirectional=True)
    one_way = models.stack("lstm", 100)
    lstm = 4 * (28 + 100 + 1) * 100
    assert model.count_params() == 2 * lstm + (2 * 100 + 1) * 10
    assert one_way.count_params() == lstm + (100 + 1) * 10
    assert model.name == "bidirectional_lstm_1x100"
    spec = models.Spec.of("stack", kind="lstm", num_units=100, bidirectional=True)
    assert spec.describe() == "Bidirectional LSTM 1x100"
    assert models.Spec.of("stack", kind="lstm", num_units=100, bidirectional=False) == (
        models.Spec.of("stack", kind="lstm", num_units=100)
    )


def test_stack_passes_layer_options():
    model = models.stack("gru", 100, reset_after=False)
    assert model.count_params() == 3 * (28 + 100 + 1) * 100 + 1_010


def test_hidden_states_of_a_peephole_stack():
    model = models.stack("peephole_lstm", 5, num_layers=2)
    rows = np.random.default_rng(1).uniform(size=(2, 28, 28)).astype(np.float32)
    top = np.asarray(models.hidden_states(model)(rows)[-1])
    reader = keras.Model(model.inputs[0], model.get_layer("peephole_lstm_2").output)
    np.testing.assert_allclose(top[:, -1], np.asarray(reader(rows)), atol=1e-6)


def test_hidden_states_needs_a_recurrent_layer():
    dense = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)],
        name="flat",
    )
    with pytest.raises(ValueError, match="Model 'flat' has no recurrent layer"):
        models.hidden_states(dense)


@pytest.mark.parametrize("kind", list(models.RECURRENT_LAYERS))
def test_kind_of_finds_the_recurrent_layer_even_when_wrapped(kind):
    assert models.kind_of(models.stack(kind, 4, 2)) == kind
    assert models.kind_of(models.stack(kind, 4, 1, bidirectional=True)) == kind


def test_kind_of_is_none_without_one_kind_of_recurrent_layer():
    assert models.kind_of(models.single_lstm(4)) == "lstm"
    flat = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten()])
    assert models.kind_of(flat) is None
    inputs = keras.Input((28, 28))
    mixed = keras.layers.GRU(4)(keras.layers.LSTM(4, return_sequences=True)(inputs))
    assert models.kind_of(keras.Model(inputs, mixed)) is None


def test_a_spec_leaves_out_arguments_equal_to_their_defaults():
    """The same model is the same spec, so the run registry trains it once."""
    plain = models.Spec.of("stack", kind="lstm", num_units=100)
    assert models.Spec.of("stack", kind="lstm", num_units=100, num_layers=1) == plain
    assert models.Spec.of(
        "stack", kind="gru", num_units=8, reset_after=True
    ) == models.Spec.of("stack", kind="gru", num_units=8)
    assert (
        models.Spec.of("stack", kind="gru", num_units=8, reset_after=False).as_dict()[
            "reset_after"
        ]
        is False
    )
    assert models.Spec.of(
        "single_lstm", num_units=8, output_activation=None
    ) == models.Spec.of("single_lstm", num_units=8)
    assert (
        models.Spec.of("stack", kind="lstm", num_units=8, num_layers=2)
        .build()
        .count_params()
        == models.stack("lstm", 8, 2).count_params()
    )
    with pytest.raises(ValueError, match="Unknown builder 'tower'"):
        models.Spec.of("tower", num_units=8)


@pytest.mark.parametrize("kind", sorted(models.RECURRENT_LAYERS))
def test_stack_takes_unroll_false(kind):
    model = models.stack(kind, 8, 2, unroll=False)
    assert [layer.unroll for layer in model.layers[:-1]] == [False, False]
    assert all(
        layer.unroll is models.unroll_default()
        for layer in models.stack(kind, 8, 2).layers[:-1]
    )


def test_a_spec_keeps_an_option_that_differs_from_what_stack_sets():
    # unroll=False is the layers' own default but not what stack builds, so it must stay
    # in the spec.
    spec = models.Spec.of("stack", kind="lstm", num_units=8, unroll=False)
    assert spec.as_dict()["unroll"] is False
    assert not spec.build().layers[0].unroll
    assert models.Spec.of(
        "stack", kind="lstm", num_units=8, unroll=True
    ) == models.Spec.of("stack", kind="lstm", num_units=8)


def test_peephole_lstm_passes_cell_options_to_the_cell():
    layer = models.peephole_lstm(
        8, unit_forget_bias=False, recurrent_initializer="zeros", return_sequences=True
    )
    layer(np.zeros((1, 3, 4), np.float32))
    assert not layer.cell.unit_forget_bias and layer.return_sequences
    np.testing.assert_array_equal(
        layer.cell.bias.numpy(), np.zeros(32)
    )  # no forget-gate ones
    np.testing.assert_array_equal(
        layer.cell.recurrent_kernel.numpy(), np.zeros((8, 32))
    )
    spec = models.Spec.of(
        "stack", kind="peephole_lstm", num_units=8, unit_forget_bias=True
    )
    assert spec == models.Spec.of(
        "stack", kind="peephole_lstm", num_units=8
    )  # the cell's default


def test_widths_may_be_numpy_integers():
    assert (
        models.stack("gru", np.int64(8), np.int64(2)).count_params()
        == models.stack("gru", 8, 2).count_params()
    )
    assert (
        models.single_lstm(np.int64(8)).count_params()
        == models.single_lstm(8).count_params()
    )


def test_hidden_states_of_one_layer_are_a_list_of_one():
    model = models.stack("gru", 6)
    rows = np.random.default_rng(2).uniform(size=(3, 28, 28)).astype(np.float32)
    probe = models.hidden_states(model)
    (called,) = probe(rows)
    (predicted,) = probe.predict(rows)
    assert np.asarray(called).shape == predicted.shape == (3, 28, 6)
    np.testing.assert_allclose(np.asarray(called), predicted, atol=1e-6)


@pytest.mark.parametrize(
    ("kind", "opened"),
    [("lstm", slice(5, 10)), ("gru", slice(0, 5))],  # the forget, the update gate
)
def test_keep_bias_opens_only_the_gate_that_keeps_the_state(kind, opened):
    model = models.stack(kind, 5, keep_bias=3.0)
    bias = np.asarray(model.layers[0].cell.bias)
    row = bias[0] if bias.ndim == 2 else bias  # the GRU's input row
    expected = np.zeros_like(row)
    expected[opened] = 3.0
    np.testing.assert_array_equal(row, expected)
    if bias.ndim == 2:
        np.testing.assert_array_equal(bias[1], 0.0)
    # A copy made from the layer's config (as hidden_states makes) starts the same.
    copy = (
        models.stack(kind, 5, keep_bias=3.0)
        .layers[0]
        .__class__.from_config(model.layers[0].get_config())
    )
    copy.build((None, 28, 28))
    np.testing.assert_array_equal(np.asarray(copy.cell.bias), bias)


def test_keep_bias_needs_a_gate_that_keeps():
    with pytest.raises(ValueError, match="keep_bias applies to the gate"):
        models.stack("simple_rnn", 4, keep_bias=3.0)
