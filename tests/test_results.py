import pandas as pd
import pytest

from rnnbook import config, models, results, runs, training

FULL = config.get_profile("full")
SINGLE, STACKED = FULL.chapter("03_single_lstm"), FULL.chapter("04_stacked_lstms")


def record(chapter, model, recipe, accuracy, seconds=2.0):
    """Record a run without training: its figures are made up, its identity is real."""
    history = pd.DataFrame({"epoch": [1, 2], "seconds": [seconds * 2, seconds]})
    run = training.Run(
        None,
        history,
        batch_size=recipe.batch_size,
        num_train=100,
        num_test=10,
        test_loss=0.1,
        test_accuracy=accuracy,
        parameters=1000,
    )
    identity = runs.identity(model, recipe, FULL)
    return runs.Registry(chapter, FULL).obtain(
        identity, name="run", description=model.describe(), train=lambda: run
    )


def lstm(num_units=SINGLE.num_units, num_layers=1, **options):
    return models.Spec.of(
        "stack", kind="lstm", num_units=num_units, num_layers=num_layers, **options
    )


def test_headline_pools_the_seeds_of_each_model_at_the_books_budgets(book):
    record("05_peepholes", lstm(), training.Recipe.of(SINGLE), 0.98)
    record("07_side_by_side", lstm(), training.Recipe.of(SINGLE, seed=1), 0.99)
    record(
        "04_stacked_lstms",
        lstm(STACKED.num_units, STACKED.num_layers),
        training.Recipe.of(STACKED),
        0.991,
    )
    # Not at a book budget: another learning rate, another size.
    record(
        "03_single_lstm", lstm(), training.Recipe.of(SINGLE, learning_rate=1e-4), 0.5
    )
    record(
        "04_stacked_lstms", lstm(STACKED.num_units, 2), training.Recipe.of(STACKED), 0.5
    )

    table = results.headline(FULL)

    assert table["size"].tolist() == ["1 x 100", "3 x 150"]
    one = table.iloc[0]
    assert (
        one["model"] == "LSTM"
        and one["seeds"] == 2
        and one["accuracy"] == pytest.approx(98.5)
    )
    assert one["chapter"] == "05_peepholes"
    markdown = results.headline_markdown(table)
    assert "| 1 x 100 | LSTM | 1,000 | 98.50 ± 0.71 | 2 | 2.0 | 5 |" in markdown
    assert "| 3 x 150 | LSTM | 1,000 | 99.10 | 1 | 2.0 | 4 |" in markdown


def test_headline_keeps_layer_options_apart(book):
    gru = models.Spec.of(
        "stack", kind="gru", num_units=SINGLE.num_units, reset_after=False
    )
    record("06_gru", gru, training.Recipe.of(SINGLE), 0.97)
    assert results.headline(FULL)["model"].tolist() == ["GRU, reset_after=False"]


def test_the_committed_headline_is_generated_from_the_committed_runs():
    """The intro includes results/full/headline.md: it must be what the registry
    gives today."""
    path = runs.results_dir(FULL) / results.HEADLINE_FILE
    expected = results.headline_markdown(results.headline(FULL))
    assert path.read_text() == expected, (
        "results/full/headline.md is stale: re-run chapter 7"
        " (or results.write_headline)"
    )
