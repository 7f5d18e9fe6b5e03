"""Every chapter's saved runs in one table, and the book's headline table.

Each chapter writes its runs with `rnnbook.training.save_results`. This module
reads them back: `runs_table` for chapter 6's side-by-side table, and
`headline` / `write_headline` for the table on the intro page, which the
intro includes from ``results/full/headline.md`` so that it is generated from
the runs, never typed.
"""

import numpy as np
import pandas as pd

from rnnbook import config, training

# What the book calls each kind of model that the chapters save.
KIND_NAMES = {
    "lstm": "LSTM",
    "peephole_lstm": "LSTM with peepholes",
    "gru": "GRU",
    "gru, reset_after=True": "GRU",
    "gru, reset_after=False": "GRU, reset_after=False",
    "simple_rnn": "SimpleRNN (baseline)",
}

# The chapters that train every kind with one shared recipe, most seeds first:
# a model and size that chapter 6 trained with several seeds is reported from
# there, not again from the single run of chapter 4 or 5.
HEADLINE_CHAPTERS = ("06_side_by_side", "04_peepholes", "05_gru")

HEADLINE_FILE = "headline.md"


def runs_table(chapters, profile=None):
    """One row per saved run of each chapter in `chapters`, in order.

    Columns: ``chapter``, ``labels`` (the run's labels, such as its kind and
    size, in one string), each label on its own, and the figures of
    `rnnbook.training.SUMMARY_FIELDS` (always present, even if empty). A
    chapter whose results file does not exist yet gets a single row whose
    ``labels`` say so.
    """
    rows = []
    for chapter in chapters:
        record = training.read_results(chapter, profile)
        if record is None:
            rows.append({"chapter": chapter, "labels": f"missing: run chapter {chapter} in this profile"})
            continue
        for run in record["runs"]:
            labels = {key: value for key, value in run.items() if key not in training.SUMMARY_FIELDS}
            text = "; ".join(value if isinstance(value, str) else f"{key}={value}" for key, value in labels.items())
            rows.append({"chapter": chapter, "labels": text, **run})
    table = pd.DataFrame(rows)
    return table.reindex(columns=[*table.columns, *(field for field in training.SUMMARY_FIELDS if field not in table)])


def headline(profile=None):
    """The book's results in one table: each kind and size once, with its seeds pooled.

    Reads `HEADLINE_CHAPTERS`; each (model, size) comes from the first of them
    that trained it. Accuracies are in percent; ``sd`` is the standard
    deviation over seeds (NaN for a single run). Chapters that have not run
    are listed in the ``missing`` attribute of the returned DataFrame.
    """
    runs = runs_table(HEADLINE_CHAPTERS, profile).reindex(columns=["chapter", "kind", "size", *training.SUMMARY_FIELDS])
    trained = set(runs.dropna(subset=["test_accuracy"])["chapter"])
    missing = [chapter for chapter in HEADLINE_CHAPTERS if chapter not in trained]
    runs = runs[runs["kind"].notna()].assign(name=lambda t: t["kind"].map(KIND_NAMES))
    unknown = sorted(set(runs.loc[runs["name"].isna(), "kind"]))
    if unknown:
        raise ValueError(f"No name for kind(s) {unknown} in rnnbook.results.KIND_NAMES: add one.")
    first = runs.groupby(["name", "size"], sort=False)["chapter"].transform("first")
    runs = runs[runs["chapter"] == first]
    table = runs.groupby(["size", "name"], sort=False).agg(
        parameters=("parameters", "first"),
        seeds=("test_accuracy", "size"),
        accuracy=("test_accuracy", lambda a: 100 * a.mean()),
        sd=("test_accuracy", lambda a: 100 * a.std()),
        seconds_per_epoch=("seconds_per_epoch", "median"),
        chapter=("chapter", "first"),
    )
    table = table.sort_index(level="size", sort_remaining=False, key=lambda size: size.map(_size_order))
    table.attrs["missing"] = missing
    return table


def _size_order(size):
    layers, units = (int(n) for n in size.split("x"))
    return layers * 10_000 + units


def headline_markdown(table):
    """`table` from `headline` as a Markdown table, with a note of missing chapters."""
    lines = [
        "| Size | Model | Parameters | Test accuracy (%) | Seeds | s / epoch | Chapter |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for (size, name), row in table.iterrows():
        accuracy = f"{row.accuracy:.2f}" if np.isnan(row.sd) else f"{row.accuracy:.2f} ± {row.sd:.2f}"
        lines.append(
            f"| {size.replace('x', ' x ')} | {name} | {row.parameters:,.0f} | {accuracy} | {row.seeds} "
            f"| {row.seconds_per_epoch:.1f} | {int(row.chapter[:2])} |"
        )
    if table.attrs.get("missing"):
        lines += ["", f"Not run yet, so not in the table: {', '.join(table.attrs['missing'])}."]
    return "\n".join(lines) + "\n"


def write_headline(profile=None):
    """Write `headline_markdown` to ``results/<profile>/headline.md`` and return its path."""
    profile = profile or config.get_profile()
    path = training.results_dir(profile) / HEADLINE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(headline_markdown(headline(profile)))
    return path
