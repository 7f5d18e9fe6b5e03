import json

import pytest

from rnnbook import config, results, training


@pytest.fixture
def book(tmp_path, monkeypatch):
    """An empty book (a folder with _toc.yml) as the working directory; returns its full-profile results folder."""
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "results" / "full"


def save(chapter, runs):
    training.save_results(chapter, runs, config.get_profile("full"))


def run(figures=None, **labels):
    """A saved run: `labels`, then the summary figures, any of them replaced by `figures`."""
    defaults = {"model": "m", "parameters": 10, "epochs": 1, "batch_size": 5, "test_accuracy": 0.9,
                "training_seconds": 2.0, "seconds_per_epoch": 2.0, "images_per_second": 50.0}
    return {**labels, **defaults, **(figures or {})}


def test_runs_table_names_a_missing_chapter_instead_of_failing(book):
    save("04_peepholes", [run(kind="lstm", size="1x100")])

    table = results.runs_table(["04_peepholes", "05_gru"], config.get_profile("full"))

    assert list(table["chapter"]) == ["04_peepholes", "05_gru"]
    assert table["labels"].tolist() == ["lstm; 1x100", "missing: run chapter 05_gru in this profile"]
    assert set(training.SUMMARY_FIELDS) <= set(table.columns)


def test_headline_pools_seeds_and_prefers_the_chapter_with_more_seeds(book):
    save("06_side_by_side", [run(kind="lstm", size="1x100", seed=s, figures={"test_accuracy": a})
                             for s, a in ((0, 0.98), (1, 0.99))])
    save("04_peepholes", [run(kind="lstm", size="1x100"), run(kind="lstm", size="3x150")])

    table = results.headline(config.get_profile("full"))

    one = table.loc[("1x100", "LSTM")]
    assert one["seeds"] == 2 and one["accuracy"] == pytest.approx(98.5) and one["chapter"] == "06_side_by_side"
    assert table.loc[("3x150", "LSTM"), "chapter"] == "04_peepholes"
    assert table.attrs["missing"] == ["05_gru"]
    markdown = results.headline_markdown(table)
    assert "| 1 x 100 | LSTM | 10 | 98.50 ± 0.71 | 2 |" in markdown
    assert "Not run yet, so not in the table: 05_gru." in markdown


def test_unknown_kind_is_a_clear_error(book):
    save("04_peepholes", [run(kind="transformer", size="1x100")])
    with pytest.raises(ValueError, match=r"No name for kind\(s\) \['transformer'\]"):
        results.headline(config.get_profile("full"))


def test_the_committed_headline_is_generated_from_the_committed_results():
    """The intro includes results/full/headline.md: it must be what the results files give today."""
    path = training.results_dir(config.get_profile("full")) / results.HEADLINE_FILE
    expected = results.headline_markdown(results.headline(config.get_profile("full")))
    assert path.read_text() == expected, "results/full/headline.md is stale: re-run chapter 6 (or results.write_headline)"
