import dataclasses
import json

import keras
import numpy as np
import pytest

from rnnbook import config, models, runs, training

MODEL = models.Spec.of("stack", kind="gru", num_units=4)
RECIPE = training.Recipe(
    epochs=2, batch_size=100, learning_rate=3e-3, seed=0
)  # one batch, no XLA: fast


@pytest.fixture
def count_training(monkeypatch):
    """Count the calls of `training.train` the registry makes."""
    calls = []
    original = training.train

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "train", counted)
    return calls


def test_a_recorded_run_is_loaded_with_its_weights_history_and_figures(
    book, tiny_splits, count_training
):
    registry = runs.Registry("06_gru", "full")

    trained = registry.run(MODEL, RECIPE, tiny_splits)
    loaded = registry.run(MODEL, RECIPE, tiny_splits)

    assert len(count_training) == 1
    assert loaded.record == trained.record
    assert loaded.record.chapter == "06_gru" and loaded.record.weights.endswith(
        ".weights.h5"
    )
    assert (
        loaded.test_accuracy == trained.test_accuracy
        and loaded.parameters == trained.parameters
    )
    assert loaded.seconds_per_epoch == trained.seconds_per_epoch
    assert list(loaded.history.columns) == list(trained.history.columns)
    np.testing.assert_array_equal(loaded.history.to_numpy(), trained.history.to_numpy())
    for ours, theirs in zip(
        loaded.model.get_weights(), trained.model.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(ours, theirs)
    files = sorted(path.name for path in (book / "results" / "full" / "runs").iterdir())
    assert files == [
        f"gru_1x4-cosine_3e-3_2x100_seed0-{trained.record.key}{suffix}"
        for suffix in (".json", ".weights.h5")
    ]


def test_the_smoke_profile_always_trains(book, tiny_splits, count_training):
    registry = runs.Registry("06_gru", "smoke")
    registry.run(MODEL, RECIPE, tiny_splits)
    registry.run(MODEL, RECIPE, tiny_splits)
    assert len(count_training) == 2


def test_retrain_variable(book, tiny_splits, count_training, monkeypatch):
    registry = runs.Registry("06_gru", "full")
    first = registry.run(MODEL, RECIPE, tiny_splits)
    monkeypatch.setenv(runs.RETRAIN_VARIABLE, "1")
    registry.run(MODEL, RECIPE, tiny_splits)
    assert len(count_training) == 2
    # An ISO time retrains what was recorded before it, and loads what came after.
    monkeypatch.setenv(runs.RETRAIN_VARIABLE, "2000-01-01T00:00:00")
    again = registry.run(MODEL, RECIPE, tiny_splits)
    assert len(count_training) == 2 and again.record.key == first.record.key
    monkeypatch.setenv(runs.RETRAIN_VARIABLE, "9000-01-01T00:00:00")
    registry.run(MODEL, RECIPE, tiny_splits)
    assert len(count_training) == 3
    monkeypatch.setenv(runs.RETRAIN_VARIABLE, "yes")
    with pytest.raises(ValueError, match="use 1 to retrain every run"):
        registry.run(MODEL, RECIPE, tiny_splits)


def test_the_key_changes_with_everything_that_determines_a_run():
    full = config.get_profile("full")
    base = runs.key_of(runs.identity(MODEL, RECIPE, full))
    variants = [
        runs.identity(
            models.Spec.of("stack", kind="gru", num_units=4, reset_after=False),
            RECIPE,
            full,
        ),
        runs.identity(models.Spec.of("stack", kind="lstm", num_units=4), RECIPE, full),
        runs.identity(MODEL, dataclasses.replace(RECIPE, seed=1), full),
        runs.identity(MODEL, dataclasses.replace(RECIPE, schedule="constant"), full),
        runs.identity(
            MODEL, dataclasses.replace(RECIPE, batch_size=16), full
        ),  # and XLA on
        runs.identity(MODEL, RECIPE, config.get_profile("smoke")),
        runs.identity(MODEL, RECIPE, full, num_train=10_000),
        runs.identity(
            models.Spec.of("stack", kind="gru", num_units=4, blank_rows=25),
            RECIPE,
            full,
        ),
        runs.identity(
            MODEL,
            RECIPE,
            full,
            libraries={"tensorflow": "2.22.0", "keras": keras.__version__},
        ),
    ]
    keys = {runs.key_of(identity) for identity in variants}
    assert base not in keys and len(keys) == len(variants)
    # A patch release keeps the key; the order of the arguments never matters.
    patched = runs.identity(
        MODEL,
        RECIPE,
        full,
        libraries={"tensorflow": "2.21.9", "keras": keras.__version__},
    )
    assert runs.key_of(patched) == base
    reordered = models.Spec.of("stack", num_units=4, kind="gru")
    assert runs.key_of(runs.identity(reordered, RECIPE, full)) == base
    # All of the profile's training images, named or not, are the same run.
    every = runs.identity(MODEL, RECIPE, full, num_train=full.data.num_train)
    assert runs.key_of(every) == base


def test_a_run_on_the_first_training_images_trains_on_those_only(book, tiny_splits):
    registry = runs.Registry("06_gru", "full")

    run = registry.run(MODEL, RECIPE, tiny_splits, num_train=30)

    assert run.num_train == 30 and run.record.figures["num_train"] == 30
    assert run.record.identity["data"]["num_train"] == 30
    assert "30 training images" in run.record.description
    assert registry.recorded(MODEL, RECIPE, num_train=30).record.key == run.record.key
    assert registry.recorded(MODEL, RECIPE) is None  # all images: another run


@pytest.mark.parametrize("num_train", [0, 55_001, 2.5, True])
def test_a_bad_number_of_training_images_is_a_clear_error(num_train, tiny_splits):
    registry = runs.Registry("06_gru", "full")
    with pytest.raises(ValueError, match="must be a whole number of training images"):
        registry.run(MODEL, RECIPE, tiny_splits, num_train=num_train)


def test_an_edited_or_broken_record_is_a_clear_error(book, tiny_splits):
    registry = runs.Registry("06_gru", "full")
    run = registry.run(MODEL, RECIPE, tiny_splits)
    path = next((book / "results" / "full" / "runs").glob("*.json"))
    fields = json.loads(path.read_text())
    fields["identity"]["recipe"]["seed"] = 7
    path.write_text(json.dumps(fields))
    with pytest.raises(runs.RegistryError, match="the record was edited"):
        runs.read_record(path)
    path.write_text("{not json")
    with pytest.raises(runs.RegistryError, match="is not a readable run record"):
        registry.run(MODEL, RECIPE, tiny_splits)
    path.unlink()
    registry.run(MODEL, RECIPE, tiny_splits)  # trained and recorded again
    (path.parent / run.record.weights).unlink()
    with pytest.raises(runs.RegistryError, match="has a record but no weights file"):
        registry.run(MODEL, RECIPE, tiny_splits)


def test_a_distributed_recipe_needs_its_strategy(book, tiny_splits):
    registry = runs.Registry("09_scaling_out", "full")
    with pytest.raises(ValueError, match="trains on 2 replica"):
        registry.run(MODEL, dataclasses.replace(RECIPE, devices=2), tiny_splits)


def test_an_unknown_chapter_is_an_error_at_once(book):
    with pytest.raises(KeyError, match="No settings for chapter '09_nope'"):
        runs.Registry("09_nope", "full")


def test_recorded_never_trains(book, tiny_splits, count_training):
    registry = runs.Registry("07_side_by_side", "full")
    assert registry.recorded(MODEL, RECIPE) is None
    runs.Registry("06_gru", "full").run(MODEL, RECIPE, tiny_splits)
    shown = registry.recorded(MODEL, RECIPE, load_weights=False)
    assert len(count_training) == 1
    assert shown.model is None and shown.record.chapter == "06_gru"
    assert runs.describe(shown.record, "shown").startswith(
        "GRU 1x4\n  Adam 3e-3, cosine decay"
    )


def a_program(n_epochs):
    """Stands in for a TF1 program: returns a Run without a Keras model."""
    import pandas as pd

    history = pd.DataFrame(
        {"epoch": np.arange(1, n_epochs + 1), "seconds": np.ones(n_epochs)}
    )
    return training.Run(
        None,
        history,
        batch_size=5,
        num_train=50,
        num_test=10,
        test_loss=0.5,
        test_accuracy=0.8,
        parameters=123,
        name="a_program",
    )


def test_a_program_is_a_run_without_weights(book):
    registry = runs.Registry("appendix_tf1_programs", "full")
    run = registry.program(a_program, "a program", n_epochs=2)
    again = registry.program(a_program, "a program", n_epochs=2)
    assert again.record == run.record and run.record.weights is None
    assert run.record.identity["model"]["program"] == "a_program"
    assert again.parameters == 123 and again.epochs == 2
    other = registry.program(a_program, "a program", n_epochs=3)
    assert other.record.key != run.record.key


def test_table_markdown(book, tiny_splits):
    run = runs.Registry("06_gru", "full").run(MODEL, RECIPE, tiny_splits)
    text = runs.table_markdown(
        [("first", run)], ["model", "parameters", "test_accuracy", "seconds_per_epoch"]
    )
    lines = text.splitlines()
    assert lines[0] == "| Run | Model | Parameters | Test accuracy (%) | s / epoch¹ |"
    assert lines[1] == "|---|---|--:|--:|--:|"
    assert lines[2].startswith(
        f"| first | GRU 1x4 | {run.parameters:,} | {100 * run.test_accuracy:.2f} |"
    )
    assert lines[-1] == runs.TIME_NOTE
    with pytest.raises(ValueError, match=r"Unknown column\(s\) \['speed'\]"):
        runs.table_markdown([("first", run)], ["speed"])


def test_results_dir_is_at_the_book_top(tmp_path, monkeypatch):
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "chapters").mkdir()
    monkeypatch.chdir(tmp_path / "chapters")
    assert runs.results_dir("smoke") == tmp_path / "results" / "smoke"
    monkeypatch.chdir(tmp_path.parent)
    assert (
        runs.results_dir(config.get_profile("full"))
        == tmp_path.parent / "results" / "full"
    )
