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

__all__ = [
    "Profile",
    "PROFILES",
    "PROFILE_VARIABLE",
    "DEFAULT_PROFILE",
    "DATA",
    "CHAPTERS",
    "SMOKE_EPOCHS",
    "SMOKE_OVERRIDES",
    "get_profile",
]

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
    # Chapter 2 measures the gradients of the one-layer models of chapter 3
    # (its width and budget) on `num_images` test images; its memory
    # experiment trains each kind on digits followed by k blank rows, on the
    # first `memory_num_train` training images for `memory_epochs`; its
    # exploding case trains a plain cell with a recurrent kernel `exploding_gain`
    # times an orthogonal one for `exploding_steps`, without and with clipping.
    "02_why_gates": {
        "kinds": ("simple_rnn", "lstm", "gru"),
        "num_images": 500,
        "forget_bias": 3.0,  # the opened keeping gates' initial bias
        "blank_rows": (0, 25, 50, 100),
        "opened_blank_rows": (50, 100),
        "memory_num_train": 15_000,
        "memory_epochs": 3,
        "exploding_gain": 2.0,
        "exploding_steps": 300,
        "clipnorm": 1.0,
        "sgd_learning_rate": 0.1,
        "seed": 0,
    },
    "03_single_lstm": {
        "num_units": 100,
        "batch_size": 50,
        "epochs": 6,
        "seed": 0,
        "tf1_learning_rate": 1e-4,  # the TF1 program's constant rate
        "constant_learning_rate": 1e-3,  # Adam's usual default, for comparison
        "peak_learning_rate": 3e-3,  # the book's choice: cosine decay from here to 0
    },
    "04_stacked_lstms": {
        "num_units": 150,
        "num_layers": 3,
        "depths": (1, 2, 3),
        "batch_size": 150,
        "epochs": 10,
        "seed": 0,
        "tf1_learning_rate": 1e-3,  # the TF1 program's constant rate, for the record
        "peak_learning_rate": 2e-3,  # cosine decay from here to 0, as in chapter 3
    },
    # Chapters 5 and 6 train their models with the budgets of chapters 3 (one
    # layer) and 3 (the stack), read from those entries, so comparisons are fair.
    "05_peepholes": {"seed": 0},
    "06_gru": {"seed": 0},
    # Chapter 7 trains every one-layer kind with several seeds, with the budget
    # of chapter 3, to see whether their ranking is larger than seed noise.
    "07_side_by_side": {
        "kinds": ("lstm", "peephole_lstm", "gru", "simple_rnn"),
        "seeds": (0, 1, 2),
        "num_digits_inside": 3,  # test digits whose gates the chapter shows
    },
    # Chapter 8 times training, not accuracy: timed images per candidate (over
    # all rounds), rounds, the models of `rnnbook.bench.MODELS` to time, the
    # sizes it sweeps, and the passes of its input-pipeline experiment.
    "08_training_speed": {
        "num_images": 8_000,
        "rounds": 8,
        "models": (
            "lstm 1x100",
            "lstm 3x150",
            "peephole_lstm 1x100",
            "peephole_lstm 3x150",
            "gru 1x100",
            "gru 3x150",
        ),
        "sweep_units": (50, 100, 200, 300, 400),
        "sweep_layers": (1, 2, 3, 4),
    },
    # The appendix runs the TF1 programs with their own budgets; the second
    # program's peephole and GRU variants run one epoch each.
    # Chapter 9 trains chapter 4's model under tf.distribute: the mechanics,
    # not the accuracy, so two epochs; the check compares the first steps.
    "09_scaling_out": {
        "num_devices": 2,
        "epochs": 2,
        "check_steps": 5,
        "seed": 0,
        # The multi-worker jobs: steps of the custom loop, the step after which
        # the fault drills strike, and the collective timeout (seconds).
        "worker_steps": 20,
        "fault_after": 8,
        "collective_timeout": 10.0,
    },
    "appendix_tf1_programs": {
        "epochs_single": 6,
        "epochs_stacked": 10,
        "epochs_variants": 1,
        "seed": 0,
    },
}
SMOKE_EPOCHS = 1
# What the smoke profile changes besides the epochs: two seeds still give a
# standard deviation; the speed chapter times two small models briefly.
SMOKE_OVERRIDES = {
    "02_why_gates": {
        "num_images": 50,
        "blank_rows": (0, 25),
        "opened_blank_rows": (25,),
        "memory_num_train": 1_000,
        "memory_epochs": 1,
        "exploding_steps": 20,
    },
    "07_side_by_side": {"seeds": (0, 1)},
    "09_scaling_out": {"worker_steps": 5, "fault_after": 2, "collective_timeout": 3.0},
    "08_training_speed": {
        "num_images": 100,
        "rounds": 1,
        "models": ("lstm 1x100", "gru 1x100"),
        "sweep_units": (50, 100),
        "sweep_layers": (1, 2),
    },
    "appendix_tf1_programs": {"epochs_single": 1, "epochs_stacked": 1},
}


@dataclasses.dataclass(frozen=True)
class Profile:
    """One row of the table: the data sizes, each chapter's settings, and `xla`.

    `xla` says whether the book's training path may compile training steps
    with XLA (`rnnbook.training.speed_options`). The smoke profile does not:
    on two cores XLA takes about 25 s to compile even a small model, more than
    a smoke run trains, and what a smoke run checks does not depend on it (the
    benchmark's tests still compile every XLA candidate).
    """

    name: str
    data: types.SimpleNamespace
    chapters: dict
    xla: bool = True

    def chapter(self, name):
        """Return the settings of chapter `name` (e.g. ``"03_single_lstm"``)."""
        if name not in self.chapters:
            raise KeyError(
                f"No settings for chapter {name!r} in profile {self.name!r}. "
                f"Known chapters: {', '.join(sorted(self.chapters))}."
            )
        return types.SimpleNamespace(**self.chapters[name])

    def __str__(self):
        return f"profile: {self.name}"


def _smoke_settings(name, settings):
    settings = {**settings, **SMOKE_OVERRIDES.get(name, {})}
    if "epochs" in settings:
        settings["epochs"] = SMOKE_EPOCHS
    return settings


PROFILES = {
    "full": Profile("full", types.SimpleNamespace(**DATA["full"]), CHAPTERS),
    "smoke": Profile(
        "smoke",
        types.SimpleNamespace(**DATA["smoke"]),
        {name: _smoke_settings(name, s) for name, s in CHAPTERS.items()},
        xla=False,
    ),
}


def get_profile(name=None):
    """Return the profile named `name`, or the one ``RNNBOOK_PROFILE`` selects.

    A `Profile` is returned as it is, so that every function taking a profile accepts
    either. An unset or empty variable means ``full``: a person who opens a chapter gets
    the real run. An unknown name is an error that lists the valid ones.
    """
    if isinstance(name, Profile):
        return name
    if name is None:
        name = os.environ.get(PROFILE_VARIABLE, "").strip() or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ValueError(
            f"Unknown profile {name!r} (from {PROFILE_VARIABLE}). "
            f"Valid profiles: {', '.join(sorted(PROFILES))}. "
            f"For example: export {PROFILE_VARIABLE}=smoke"
        )
    return PROFILES[name]
