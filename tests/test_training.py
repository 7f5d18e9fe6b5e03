import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from rnnbook import config, data, models, training


@pytest.fixture
def tiny_splits():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(60, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=60).astype(np.uint8)
    return data.Splits(x[:40], y[:40], x[40:50], y[40:50], x[50:], y[50:])


def compiled_model():
    keras.utils.set_random_seed(0)
    model = models.single_lstm(4)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def test_fit_returns_history_timing_and_test_accuracy(tiny_splits):
    run = training.fit(compiled_model(), tiny_splits, epochs=2, batch_size=16)
    assert list(run.history["epoch"]) == [1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"} <= set(run.history.columns)
    assert (run.history["seconds"] > 0).all()
    assert run.epochs == 2 and 0.0 <= run.test_accuracy <= 1.0
    expected = run.model.evaluate(tiny_splits.x_test, tiny_splits.y_test, verbose=0)[1]
    assert run.test_accuracy == pytest.approx(expected)
    summary = run.summary(variant="tiny")
    assert summary["variant"] == "tiny" and summary["parameters"] == run.model.count_params()
    assert summary["images_per_second"] == pytest.approx(40 / run.seconds_per_epoch)


def test_train_is_reproducible_with_the_same_seed(tiny_splits):
    def run(seed):
        return training.train(
            lambda: models.stack("lstm", 4), tiny_splits, epochs=2, batch_size=16, peak_learning_rate=3e-3, seed=seed
        )

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
    images = np.arange(10, dtype=np.float32).reshape(10, 1, 1) * np.ones((10, 28, 28), np.float32)
    labels = np.arange(10)
    in_order = training.batches(images, labels, 4)
    assert [len(y) for _, y in in_order] == [4, 4, 2]
    assert not in_order.options().autotune.enabled
    for x, y in in_order:
        np.testing.assert_array_equal(np.asarray(x)[:, 0, 0], np.asarray(y))  # images stay with their labels
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
    assert training.speed_options(50) == {"steps_per_execution": training.STEPS_PER_EXECUTION, "jit_compile": True}
    assert not training.speed_options(150)["jit_compile"]
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        assert training.speed_options(150)["steps_per_execution"] == 1
    with pytest.raises(ValueError, match="batch_size must be a positive"):
        training.speed_options(0)


def test_steps_per_epoch_counts_the_short_last_batch():
    assert training.steps_per_epoch(55_000, 50) == 1_100
    assert training.steps_per_epoch(2_001, 50) == 41


def test_results_go_to_the_book_top(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "chapters").mkdir()
    monkeypatch.chdir(tmp_path / "chapters")
    profile = config.get_profile("smoke")
    path = training.save_results("02_single_lstm", [{"model": "m", "test_accuracy": 0.5}], profile)
    assert path == tmp_path / "results" / "smoke" / "02_single_lstm.json"
    expected = {"chapter": "02_single_lstm", "profile": "smoke", "runs": [{"model": "m", "test_accuracy": 0.5}]}
    assert json.loads(path.read_text()) == expected
    assert training.read_results("02_single_lstm", profile) == expected
    assert training.read_results("02_single_lstm", config.get_profile("full")) is None


def test_results_outside_a_book_go_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert training.results_dir(config.get_profile("full")) == tmp_path / "results" / "full"


def test_accuracy_by_rows_ends_at_the_models_accuracy(tiny_splits):
    run = training.train(lambda: models.stack("gru", 6, 2), tiny_splits, epochs=1, batch_size=16, peak_learning_rate=1e-2, seed=0)

    curve = training.accuracy_by_rows(run.model, tiny_splits.x_test, tiny_splits.y_test, batch_size=4)

    assert curve.shape == (28,)
    assert curve[-1] == pytest.approx(run.test_accuracy)
    assert ((0 <= curve) & (curve <= 1)).all()


def test_accuracy_by_rows_needs_a_dense_output_layer():
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.LSTM(4)], name="no_head")
    with pytest.raises(ValueError, match="must end in a Dense output layer, not LSTM"):
        training.accuracy_by_rows(model, np.zeros((2, 28, 28)), np.zeros(2))
