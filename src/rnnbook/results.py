"""The book's headline table, from the run registry.

`headline` pools every recorded run trained with one of the book's two
budgets (chapter 3's for one layer of 100 units, chapter 4's for the stack),
by model, over its seeds. Chapter 7 writes it with `write_headline` to
``results/full/headline.md``, which the intro includes, so that the table on
the book's first page is generated from the runs, never typed.
"""

import dataclasses

import numpy as np
import pandas as pd

from rnnbook import config, models, runs, tables, training

__all__ = [
    "HEADLINE_FILE",
    "budgets",
    "headline",
    "headline_markdown",
    "write_headline",
]

HEADLINE_FILE = "headline.md"


def budgets(profile=None):
    """The book's two budgets: ``{(num_layers, num_units): Recipe}``, seed 0."""
    profile = config.get_profile(profile)
    single, stacked = (
        profile.chapter("03_single_lstm"),
        profile.chapter("04_stacked_lstms"),
    )
    return {
        (1, single.num_units): training.Recipe.of(single),
        (stacked.num_layers, stacked.num_units): training.Recipe.of(stacked),
    }


def headline(profile=None):
    """One row per model of the book's sizes and budget, its seeds pooled.

    Columns: ``size``, ``model``, ``parameters``, ``seeds``, ``accuracy`` and
    ``sd`` (mean and standard deviation over seeds, in percent; ``sd`` is NaN
    for a single seed), ``seconds_per_epoch`` (median over the runs), and
    ``chapter`` (the first chapter that trained one of them).
    """
    profile = config.get_profile(profile)
    wanted = budgets(profile)
    rows = []
    for record in runs.records(profile):
        model, recipe = record.identity["model"], record.identity["recipe"]
        if model.get("builder") != "stack":
            continue
        size = (model.get("num_layers", 1), model["num_units"])
        budget = wanted.get(size)
        if budget is None or {**recipe, "seed": budget.seed} != dataclasses.asdict(
            budget
        ):
            continue
        spec = models.Spec.of(**model)
        run = record.as_run()
        rows.append(
            {
                "size": f"{size[0]} x {size[1]}",
                "order": size,
                "model": spec.describe().replace(f" {size[0]}x{size[1]}", ""),
                "parameters": run.parameters,
                "test_accuracy": 100 * run.test_accuracy,
                "seconds_per_epoch": run.seconds_per_epoch,
                "chapter": record.chapter,
            }
        )
    columns = [
        "size",
        "model",
        "parameters",
        "seeds",
        "accuracy",
        "sd",
        "seconds_per_epoch",
        "chapter",
    ]
    if not rows:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame(rows).sort_values(["order", "chapter"], kind="stable")
    table = table.groupby(["size", "model"], sort=False).agg(
        order=("order", "first"),
        parameters=("parameters", "first"),
        seeds=("test_accuracy", "size"),
        accuracy=("test_accuracy", "mean"),
        sd=("test_accuracy", "std"),
        seconds_per_epoch=("seconds_per_epoch", "median"),
        chapter=("chapter", "min"),
    )
    return table.sort_values("order", kind="stable").reset_index()[columns]


def headline_markdown(table):
    """`headline` as a Markdown table (`rnnbook.tables`), with a note on the
    seconds per epoch."""
    frame = pd.DataFrame(
        {
            "Size": table["size"],
            "Model": table["model"],
            "Parameters": table["parameters"],
            "Test accuracy (%)": [
                f"{accuracy:.2f}" if np.isnan(sd) else f"{accuracy:.2f} ± {sd:.2f}"
                for accuracy, sd in zip(table["accuracy"], table["sd"], strict=True)
            ],
            "Seeds": table["seeds"],
            "s / epoch¹": table["seconds_per_epoch"],
            "Chapter": [
                runs.chapter_title(chapter).removeprefix("chapter ")
                for chapter in table["chapter"]
            ],
        }
    )
    note = runs.TIME_NOTE.replace("that run", "the runs").replace(
        "the median epoch", "the median run's median epoch"
    )
    return tables.markdown(frame, {"s / epoch¹": ".1f"}, note=note)


def write_headline(profile=None):
    """Write `headline_markdown` to ``results/<profile>/headline.md``; return it."""
    path = runs.results_dir(profile) / HEADLINE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(headline_markdown(headline(profile)))
    return path
