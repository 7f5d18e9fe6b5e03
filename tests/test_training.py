import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from rnnbook import models, training


def compiled_model():
    keras.utils.set_random_seed(0)
    model = models.single_lstm(4)
    model.compile(
        "adam",
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def test_fit_returns_history_timing_and_test_accuracy(tiny_splits):
    run = training.fit(compiled_model(), tiny_splits, epochs=2, batch_size=16)
    assert list(run.history["epoch"]) == [1, 2]
    assert {
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "seconds",
        "validation_seconds",
    } <= set(run.history.columns)
    assert (run.history["seconds"] > 0).all() and (
        run.history["validation_seconds"] > 0
    ).all()
    assert run.epochs == 2 and 0.0 <= run.test_accuracy <= 1.0
    expected = run.model.evaluate(tiny_splits.x_test, tiny_splits.y_test, verbose=0)[1]
    assert run.test_accuracy == pytest.approx(expected)
    summary = run.summary(variant="tiny")
    assert (
        summary["variant"] == "tiny"
        and summary["parameters"] == run.model.count_params()
    )
    assert summary["images_per_second"] == pytest.approx(40 / run.seconds_per_epoch)
    assert run.num_test == 10


def test_seconds_per_epoch_leaves_out_the_first_epoch_and_the_validation():
    history = pd.DataFrame(
        {"seconds": [30.0, 10.0, 12.0, 11.0], "validation_seconds": [5.0] * 4}
    )
    run = training.Run(
        None, history, batch_size=5, num_train=110, test_loss=0.1, test_accuracy=0.9
    )
    assert run.seconds_per_epoch == 11.0 and run.images_per_second == 10.0
    two = training.Run(
        None, history[:2], batch_size=5, num_train=110, test_loss=0.1, test_accuracy=0.9
    )
    assert (
        two.seconds_per_epoch == 10.0
    )  # the second epoch alone, not the median with the first
    one = training.Run(
        None, history[:1], batch_size=5, num_train=110, test_loss=0.1, test_accuracy=0.9
    )
    assert one.seconds_per_epoch == 30.0


def test_train_is_reproducible_with_the_same_seed(tiny_splits):
    def run(seed):
        recipe = training.Recipe(epochs=2, batch_size=16, learning_rate=3e-3, seed=seed)
        return training.train(lambda: models.stack("lstm", 4), tiny_splits, recipe)

    first, second, other = run(0), run(0), run(1)
    columns = ["loss", "accuracy", "val_loss", "val_accuracy"]
    np.testing.assert_array_equal(first.history[columns], second.history[columns])
    assert not np.array_equal(first.history["loss"], other.history["loss"])
    # The learning rate has decayed along the cosine to 0 by the last step.
    assert float(first.model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)


def test_fit_needs_a_compiled_model(tiny_splits):
    with pytest.raises(ValueError, match="is not compiled"):
        training.fit(models.single_lstm(4), tiny_splits, epochs=1, batch_size=16)


def test_batches_cover_every_image_once_and_shuffle_per_epoch():
    images = np.arange(10, dtype=np.float32).reshape(10, 1, 1) * np.ones(
        (10, 28, 28), np.float32
    )
    labels = np.arange(10)
    in_order = training.batches(images, labels, 4)
    assert [len(y) for _, y in in_order] == [4, 4, 2]
    assert not in_order.options().autotune.enabled
    for x, y in in_order:
        np.testing.assert_array_equal(
            np.asarray(x)[:, 0, 0], np.asarray(y)
        )  # images stay with their labels
    keras.utils.set_random_seed(0)
    shuffled = training.batches(images, labels, 4, shuffle=True)
    first, second = ([int(v) for _, y in shuffled for v in y] for _ in range(2))
    assert sorted(first) == sorted(second) == list(range(10)) and first != second
    keras.utils.set_random_seed(0)
    again = training.batches(images, labels, 4, shuffle=True)
    assert [int(v) for _, y in again for v in y] == first  # the seed fixes the order


def test_batches_reject_mismatched_input():
    with pytest.raises(ValueError, match="10 images but 9 labels"):
        training.batches(np.zeros((10, 28, 28), np.float32), np.zeros(9), 4)
    with pytest.raises(ValueError, match="batch_size must be a positive"):
        training.batches(np.zeros((10, 28, 28), np.float32), np.zeros(10), 0)


def test_speed_options_use_xla_for_small_batches_only():
    assert training.speed_options(50, profile="full") == {
        "steps_per_execution": training.STEPS_PER_EXECUTION,
        "jit_compile": True,
    }
    assert not training.speed_options(150, profile="full")["jit_compile"]
    with pytest.raises(ValueError, match="Unknown kind of layer 'lstn'"):
        training.speed_options(50, kind="lstn")
    # The smoke profile (the tests') never compiles: see rnnbook.config.Profile.
    assert not training.speed_options(50)["jit_compile"]
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        assert training.speed_options(150)["steps_per_execution"] == 1
        assert not training.speed_options(50, profile="full")[
            "jit_compile"
        ]  # XLA cannot reach other devices
    with pytest.raises(ValueError, match="batch_size must be a positive"):
        training.speed_options(0)


@pytest.mark.parametrize(
    "kind, xla_at_150", [("lstm", False), ("peephole_lstm", False), ("gru", True)]
)
def test_xla_follows_the_benchmark_by_kind_of_layer(kind, xla_at_150):
    """Chapter 8: XLA won at batch 50 for every kind, at 150 for the GRU only."""
    for batch_size, xla in ((50, True), (150, xla_at_150), (151, False)):
        options = training.speed_options(batch_size, kind=kind, profile="full")
        assert options["jit_compile"] is xla, (kind, batch_size)


def test_compile_uses_the_speed_options_of_the_model_s_kind(monkeypatch):
    monkeypatch.setenv("RNNBOOK_PROFILE", "full")
    recipe = training.Recipe(epochs=1, batch_size=150, learning_rate=1e-3, seed=0)
    for kind, xla in (("lstm", False), ("gru", True)):
        model = training.compile_model(models.stack(kind, 4, 2), recipe, num_train=150)
        assert model.jit_compile is xla, kind


def test_steps_per_epoch_counts_the_short_last_batch():
    assert training.steps_per_epoch(55_000, 50) == 1_100
    assert training.steps_per_epoch(2_001, 50) == 41


def test_accuracy_by_rows_ends_at_the_models_accuracy(tiny_splits):
    recipe = training.Recipe(epochs=1, batch_size=16, learning_rate=1e-2, seed=0)
    run = training.train(lambda: models.stack("gru", 6, 2), tiny_splits, recipe)

    curve = training.accuracy_by_rows(
        run.model, tiny_splits.x_test, tiny_splits.y_test, batch_size=4
    )

    assert curve.shape == (28,)
    assert curve[-1] == pytest.approx(run.test_accuracy)
    assert ((0 <= curve) & (curve <= 1)).all()


def test_reading_the_first_rows_agrees_with_reading_the_state_after_them():
    keras.utils.set_random_seed(0)
    model = models.stack("lstm", 6)
    images = np.random.default_rng(0).uniform(size=(40, 28, 28)).astype("float32")
    labels = np.argmax(model.predict(images[:, :], verbose=0), axis=-1)
    labels[::2] = (labels[::2] + 1) % 10  # half right at the end, not all

    by_state = training.accuracy_by_rows(model, images, labels)
    by_rows = training.accuracy_on_first_rows(model, images, labels)

    np.testing.assert_allclose(by_rows, by_state)
    assert by_rows[-1] == pytest.approx(0.5)


def test_a_model_that_reads_both_ways_is_run_on_the_first_rows():
    keras.utils.set_random_seed(0)
    model = models.stack("gru", 4, bidirectional=True)
    images = np.random.default_rng(1).uniform(size=(12, 28, 28)).astype("float32")
    labels = np.arange(12) % 10

    curve = training.accuracy_by_rows(model, images, labels)

    for k in (10, 28):  # the backward copy starts at row k, as if the digit ended
        answers = np.argmax(np.asarray(model(images[:, :k])), axis=-1)
        assert curve[k - 1] == pytest.approx(np.mean(answers == labels))


def test_accuracy_by_rows_needs_a_dense_output_layer():
    model = keras.Sequential(
        [keras.Input((28, 28)), keras.layers.LSTM(4)], name="no_head"
    )
    with pytest.raises(ValueError, match="must end in a Dense output layer, not LSTM"):
        training.accuracy_by_rows(model, np.zeros((2, 28, 28)), np.zeros(2))


def test_recipe_rejects_what_cannot_train():
    with pytest.raises(
        ValueError, match="Recipe epochs must be a positive integer, got 0"
    ):
        training.Recipe(epochs=0, batch_size=5, learning_rate=1e-3, seed=0)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        training.Recipe(epochs=1, batch_size=5, learning_rate=0, seed=0)
    with pytest.raises(ValueError, match="Unknown schedule 'linear'"):
        training.Recipe(
            epochs=1, batch_size=5, learning_rate=1e-3, seed=0, schedule="linear"
        )
    with pytest.raises(ValueError, match="Unknown loss 'mse'"):
        training.Recipe(epochs=1, batch_size=5, learning_rate=1e-3, seed=0, loss="mse")
    assert (
        training.Recipe(
            epochs=np.int64(2), batch_size=5, learning_rate=1e-3, seed=0
        ).epochs
        == 2
    )


def test_a_constant_recipe_keeps_its_rate(tiny_splits):
    recipe = training.Recipe(
        epochs=1, batch_size=16, learning_rate=1e-3, seed=0, schedule="constant"
    )
    run = training.train(lambda: models.stack("lstm", 4), tiny_splits, recipe)
    assert float(run.model.optimizer.learning_rate) == pytest.approx(1e-3)


def test_softmax_twice_loss_is_cross_entropy_of_a_second_softmax():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype=np.float32)
    labels = np.array([0, 2])
    q = np.exp(probabilities) / np.exp(probabilities).sum(axis=1, keepdims=True)
    expected = -np.log(q[[0, 1], labels])
    np.testing.assert_allclose(
        np.asarray(training.softmax_twice_loss(labels, probabilities)),
        expected,
        rtol=1e-6,
    )
