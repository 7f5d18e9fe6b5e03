"""Run profiles: every hyperparameter of every chapter, in one table.

A profile is picked by the environment variable ``RNNBOOK_PROFILE``:

- ``full`` (the default): the real runs whose outputs the book shows.
- ``smoke``: the same code path on a small slice of the data and one epoch,
  so that the test suite can execute every notebook in well under a minute.

Notebooks never hard-code epochs or sizes; they read them from here
(chapter 1, "Run profiles").
"""

import dataclasses
import os
import types

PROFILE_VARIABLE = "RNNBOOK_PROFILE"
DEFAULT_PROFILE = "full"

# How much data each profile uses. The full split is the one of the original
# TF1 programs: the first 5,000 training images are held out for validation,
# the other 55,000 train; all 10,000 test images are scored.
DATA = {
    "full": {"num_validation": 5_000, "num_train": 55_000, "num_test": 10_000},
    "smoke": {"num_validation": 500, "num_train": 2_000, "num_test": 1_000},
}

# Each chapter's settings in the full profile. The smoke profile runs the
# same settings (widths, batch sizes, learning rates) for one epoch.
CHAPTERS = {
    "01_mnist_as_sequences": {},
    "02_single_lstm": {
        "num_units": 100,
        "batch_size": 50,
        "epochs": 6,
        "seed": 0,
        "tf1_learning_rate": 1e-4,  # the TF1 program's constant rate
        "constant_learning_rate": 1e-3,  # Adam's usual default, for comparison
        "peak_learning_rate": 3e-3,  # the book's choice: cosine decay from here to 0
    },
    "03_stacked_lstms": {
        "num_units": 150,
        "num_layers": 3,
        "depths": (1, 2, 3),
        "batch_size": 150,
        "epochs": 10,
        "seed": 0,
        "tf1_learning_rate": 1e-3,  # the TF1 program's constant rate, for the record
        "peak_learning_rate": 2e-3,  # cosine decay from here to 0, as in chapter 2
    },
    # Chapters 4 and 5 train their models with the budgets of chapters 2 (one
    # layer) and 3 (the stack), read from those entries, so comparisons are fair.
    "04_peepholes": {"seed": 0},
    "05_gru": {"seed": 0},
}
SMOKE_EPOCHS = 1


@dataclasses.dataclass(frozen=True)
class Profile:
    """One row of the table: the data sizes and each chapter's settings."""

    name: str
    data: types.SimpleNamespace
    chapters: dict

    def chapter(self, name):
        """Return the settings of chapter `name` (e.g. ``"02_single_lstm"``)."""
        if name not in self.chapters:
            raise KeyError(
                f"No settings for chapter {name!r} in profile {self.name!r}. "
                f"Known chapters: {', '.join(sorted(self.chapters))}."
            )
        return types.SimpleNamespace(**self.chapters[name])

    def __str__(self):
        return f"profile: {self.name}"


def _smoke_settings(settings):
    settings = dict(settings)
    if "epochs" in settings:
        settings["epochs"] = SMOKE_EPOCHS
    return settings


PROFILES = {
    "full": Profile("full", types.SimpleNamespace(**DATA["full"]), CHAPTERS),
    "smoke": Profile(
        "smoke",
        types.SimpleNamespace(**DATA["smoke"]),
        {name: _smoke_settings(s) for name, s in CHAPTERS.items()},
    ),
}


def get_profile(name=None):
    """Return the profile named `name`, or the one ``RNNBOOK_PROFILE`` selects.

    An unset or empty variable means ``full``: a person who opens a chapter
    gets the real run. An unknown name is an error that lists the valid ones.
    """
    if name is None:
        name = os.environ.get(PROFILE_VARIABLE, "").strip() or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ValueError(
            f"Unknown profile {name!r} (from {PROFILE_VARIABLE}). "
            f"Valid profiles: {', '.join(sorted(PROFILES))}. "
            f"For example: export {PROFILE_VARIABLE}=smoke"
        )
    return PROFILES[name]
