"""The run registry: each training run is trained once, recorded, shown from its record.

A run is named by a key, the first 16 hex digits of the SHA-256 of its
*identity*: everything that determines its result. For a Keras run that is
the model (`rnnbook.models.Spec`), the recipe (`rnnbook.training.Recipe`),
the training path (unroll, XLA, steps per execution), the profile and its
data sizes, the SHA-256 of the four MNIST files, and the TensorFlow and
Keras versions (major.minor: the kernels change between minor releases).
Its record, ``results/<profile>/runs/<name>-<key>.json``, holds that
identity, the per-epoch history, the test metrics, the wall times and the
machine it ran on (`environment`); the trained weights sit beside it as
``<name>-<key>.weights.h5``. The full profile's records are committed: they
are the book's single source of numbers.

A chapter opens the registry once, ``registry = runs.Registry("05_peepholes")``,
and asks it for runs:

- ``registry.run(model, recipe, splits)`` loads the run if it is recorded and
  otherwise trains and records it; `Registry.obtain` does the same for a run
  that trains some other way (the TF1 programs of the appendix).
- ``registry.recorded(model, recipe)`` gives a run another chapter trained,
  or None, and never trains.

In the full profile a recorded run is loaded unless ``RNNBOOK_RETRAIN`` asks
for training (`RETRAIN_VARIABLE`). The smoke profile always trains, so that
the tests exercise the training path rather than a cache.

Every run a chapter shows is announced by one line (`describe`); its figures
can be glued (`glue`) and tabulated (`table`). Each of these outputs carries
the run's key in its metadata, so that ``tests/test_runs.py`` can hold the
saved book to the records without training anything.
"""

import dataclasses
import datetime
import hashlib
import importlib.metadata
import inspect
import json
import math
import os
import pathlib
import platform
import re

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from rnnbook import config, data, devices, models, tables, training

__all__ = [
    "RETRAIN_VARIABLE",
    "RUNS_FOLDER",
    "KEY_DIGITS",
    "METADATA_KEY",
    "FIGURES",
    "COLUMNS",
    "TIME_NOTE",
    "Registry",
    "RegistryError",
    "Record",
    "results_dir",
    "data_identity",
    "keras_path",
    "identity",
    "key_of",
    "cpu_model",
    "environment",
    "chapter_title",
    "read_record",
    "records",
    "describe",
    "show",
    "glue",
    "standard_error",
    "table_markdown",
    "table",
]

RETRAIN_VARIABLE = "RNNBOOK_RETRAIN"
RUNS_FOLDER = "runs"
KEY_DIGITS = 16
METADATA_KEY = "rnnbook"  # where the outputs of this module keep their provenance

# The profiles whose recorded runs are loaded; any other always trains.
REUSING_PROFILES = ("full",)


class RegistryError(Exception):
    """A record is missing, unreadable or does not belong to what was asked for."""


def results_dir(profile=None):
    """``results/<profile>/`` at the top of the book (the folder with ``_toc.yml``).

    Found from the working directory upwards, so a chapter run from
    ``chapters/`` uses the book's results; outside the book, ``./results``.
    """
    profile = config.get_profile(profile)
    here = pathlib.Path.cwd()
    top = next((p for p in (here, *here.parents) if (p / "_toc.yml").is_file()), here)
    return top / "results" / profile.name


def short_version(version):
    """``"2.21.0"`` -> ``"2.21"``: the part of a version that a run's key includes."""
    return ".".join(version.split(".")[:2])


def data_identity(profile, num_train=None):
    """A run's data: the MNIST files' SHA-256 and the profile's split sizes.

    `num_train` is the number of training images of a run that trains on the
    first of them only (`Registry.run`); None means all of the profile's.
    """
    files = hashlib.sha256(
        "".join(spec.sha256 for spec in data.IDX_FILES.values()).encode()
    )
    sizes = vars(profile.data)
    if num_train is not None:
        sizes = {**sizes, "num_train": _check_num_train(num_train, profile)}
    return {"mnist_sha256": files.hexdigest(), **sizes}


def _check_num_train(num_train, profile):
    """`num_train` as an int, if it is a number of the profile's training images."""
    limit = profile.data.num_train
    if (
        isinstance(num_train, bool)
        or not isinstance(num_train, (int, np.integer))
        or not 1 <= num_train <= limit
    ):
        raise ValueError(
            f"num_train={num_train!r} must be a whole number of training images from 1"
            f" to {limit:,} (the {profile.name} profile's training split)."
        )
    return int(num_train)


def keras_path(recipe, model=None, profile=None):
    """How a Keras run's steps are executed on a CPU (`training.speed_options`, unroll).

    `model` (the model's spec as a dict) names the kind of layer, and may set
    ``unroll`` itself; otherwise the layers unroll as `rnnbook.models.UNROLL`
    says. `profile` is the run's (None: the one ``RNNBOOK_PROFILE``
    selects). Always the CPU's path, the
    one the book's runs were recorded with: on a GPU the same model trains
    with cuDNN's kernels (another speed, the same function), and a reader
    there still loads the recorded runs; a run trained there says so in its
    record's environment (``gpus``).
    """
    model = model or {}
    options = training.speed_options(
        recipe.batch_size,
        kind="lstm" if model.get("builder") == "single_lstm" else model.get("kind"),
        distributed=recipe.devices > 1,
        profile=profile,
        gpu=False,
    )
    return {"unroll": model.get("unroll", models.UNROLL), **options}


def identity(model, recipe, profile, path=None, libraries=None, num_train=None):
    """Everything that determines a run's result, as plain JSON-able data.

    `model` and `recipe` are dicts (or a `rnnbook.models.Spec` and a
    `rnnbook.training.Recipe`); `path` says how the steps run (default:
    `keras_path`); `libraries` maps library names to versions (default:
    TensorFlow and Keras); `num_train` is as in `data_identity`.
    """
    if isinstance(model, models.Spec):
        model = model.as_dict()
    if isinstance(recipe, training.Recipe):
        path = keras_path(recipe, model, profile) if path is None else path
        recipe = dataclasses.asdict(recipe)
    if libraries is None:
        libraries = {"tensorflow": tf.__version__, "keras": keras.__version__}
    return {
        "model": model,
        "recipe": recipe,
        "path": path or {},
        "profile": profile.name,
        "data": data_identity(profile, num_train),
        "versions": {
            name: short_version(version) for name, version in sorted(libraries.items())
        },
    }


def key_of(identity):
    """The run's key: the first `KEY_DIGITS` hex digits of its identity's SHA-256."""
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_DIGITS]


def cpu_model():
    """The processor's name as the operating system reports it."""
    cpuinfo = pathlib.Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        if match:
            return match.group(1).strip()
    return platform.processor() or platform.machine()


def cpu_features():
    """The vector and matrix extensions that change float32 and bfloat16 kernels."""
    flags = devices.cpu_flags()
    return [
        flag
        for flag in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")
        if flag in flags
    ]


def environment():
    """The machine and libraries a run ran on, and when it was recorded (UTC)."""
    return {
        "recorded": (
            datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        ),
        "cpu": cpu_model(),
        "cpu_features": cpu_features(),
        "cores": os.cpu_count(),
        "gpus": [gpu.name for gpu in devices.gpus()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def chapter_title(chapter):
    """``"05_peepholes"`` -> ``"chapter 5"``; the appendix by name."""
    number = chapter.split("_")[0]
    return f"chapter {int(number)}" if number.isdigit() else "the appendix"


@dataclasses.dataclass(frozen=True)
class Record:
    """What the registry keeps of one run: its identity, results and origin.

    `figures` holds ``parameters``, ``batch_size``, ``num_train``,
    ``num_test``, ``test_loss`` and ``test_accuracy``; `history` the
    per-epoch columns of `rnnbook.training.Run.history`; `weights` the name
    of the weights file beside the record, or None for a run without a
    Keras model.
    """

    key: str
    name: str
    description: str
    chapter: str
    identity: dict
    figures: dict
    history: dict
    environment: dict
    weights: str | None

    def as_run(self, model=None):
        """The record as a `rnnbook.training.Run` (with `model` if given)."""
        return training.Run(
            model=model,
            history=pd.DataFrame(self.history),
            batch_size=self.figures["batch_size"],
            num_train=self.figures["num_train"],
            num_test=self.figures["num_test"],
            test_loss=self.figures["test_loss"],
            test_accuracy=self.figures["test_accuracy"],
            parameters=self.figures["parameters"],
            name=self.name,
            record=self,
        )


def read_record(path):
    """Read a record file; a file that is not one is a `RegistryError` that names it."""
    path = pathlib.Path(path)
    try:
        fields = json.loads(path.read_text())
        record = Record(**fields)
    except (OSError, ValueError, TypeError) as exc:
        raise RegistryError(
            f"{path} is not a readable run record ({exc}). Delete it and re-run the"
            " chapter that trains it, or restore it with git."
        ) from exc
    if record.key != key_of(record.identity):
        raise RegistryError(
            f"{path} says its key is {record.key}, but its identity hashes to"
            f" {key_of(record.identity)}: the record was edited. Restore it with git,"
            f" or retrain it ({RETRAIN_VARIABLE}=1)."
        )
    return record


def records(profile=None):
    """Every record of `profile`, oldest first."""
    folder = results_dir(profile) / RUNS_FOLDER
    found = [read_record(path) for path in sorted(folder.glob("*.json"))]
    return sorted(
        found, key=lambda record: (record.environment["recorded"], record.key)
    )


def retrain_before(profile):
    """The time before which recorded runs are retrained, or None to load them all.

    The smoke profile retrains everything. In the full profile,
    ``RNNBOOK_RETRAIN=1`` retrains everything, an ISO date-time (as ``make
    full`` sets it) retrains what was recorded before it, so that a run
    retrained by one chapter is loaded by the next.
    """
    if profile.name not in REUSING_PROFILES:
        return "9999"
    value = os.environ.get(RETRAIN_VARIABLE, "").strip()
    if value in ("", "0"):
        return None
    if value == "1":
        return "9999"
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{RETRAIN_VARIABLE}={value!r}: use 1 to retrain every run, 0 or nothing to"
            " load recorded runs, or an ISO date-time (2026-12-02T05:40:00+00:00) to"
            " retrain runs recorded before it."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc).isoformat(timespec="seconds")


class Registry:
    """One chapter's view of the registry of `profile` (default: the active one).

    Args:
        chapter: the chapter asking, e.g. ``"05_peepholes"``; the runs it
            trains are recorded as first trained there.
        profile: a `rnnbook.config.Profile` or its name.
    """

    def __init__(self, chapter, profile=None):
        self.profile = config.get_profile(profile)
        self.profile.chapter(
            chapter
        )  # an unknown chapter is an error here, not at the first run
        self.chapter = chapter
        self.folder = results_dir(self.profile) / RUNS_FOLDER

    def _paths(self, name, key):
        stem = self.folder / f"{name}-{key}"
        return stem.with_suffix(".json"), stem.with_name(stem.name + ".weights.h5")

    def find(self, identity_):
        """The record of the run with this identity, or None."""
        key = key_of(identity_)
        matches = sorted(self.folder.glob(f"*-{key}.json"))
        return read_record(matches[0]) if matches else None

    def run(self, model, recipe, splits, num_train=None):
        """The Keras run of `model` (a `rnnbook.models.Spec`) trained with `recipe`.

        Loaded with its weights if it is recorded (and not to be retrained);
        otherwise trained on `splits` with `rnnbook.training.train` and
        recorded. Either way a line says which run it is and where it came
        from (`show`). A run of ``recipe.devices > 1`` replicas must be asked
        for inside that strategy's scope. With `num_train`, the run trains on
        the first `num_train` training images only (a smaller budget, as
        chapter 2's memory experiment takes), and its key says so.
        """
        if recipe.devices != tf.distribute.get_strategy().num_replicas_in_sync:
            raise ValueError(
                f"The recipe trains on {recipe.devices} replica(s), but the active"
                f" strategy has {tf.distribute.get_strategy().num_replicas_in_sync}:"
                " ask for the run inside `with strategy.scope():` of a strategy with"
                f" {recipe.devices}."
            )
        identity_ = identity(model, recipe, self.profile, num_train=num_train)
        description = f"{model.describe()}; {recipe.describe()}"
        if num_train is not None:
            splits = dataclasses.replace(
                splits,
                x_train=splits.x_train[:num_train],
                y_train=splits.y_train[:num_train],
            )
            description += f", {num_train:,} training images"
        return self.obtain(
            identity_,
            name=_slug(model, recipe),
            description=description,
            train=lambda: training.train(model.build, splits, recipe, self.profile),
            build=model.build,
        )

    def recorded(self, model, recipe, load_weights=True, num_train=None):
        """The recorded Keras run of `model` and `recipe`, or None; never trains.

        With ``load_weights=False`` the run has no model, only its record's
        figures and history (for a chapter that cannot run Keras 3, such as
        the appendix's TF1 graph mode). `num_train` is as in `run`.
        """
        record = self.find(identity(model, recipe, self.profile, num_train=num_train))
        if record is None:
            return None
        run = self._load(record, model.build) if load_weights else record.as_run()
        show(run, "shown")
        return run

    def program(self, function, description, **arguments):
        """The run of a TF1 program ``function(**arguments)``, a `rnnbook.training.Run`.

        Its identity is the program's source code (SHA-256), its
        `arguments`, the profile and data, and the TensorFlow and tf-keras
        versions; its record keeps no weights.
        """
        source = hashlib.sha256(inspect.getsource(function).encode()).hexdigest()
        libraries = {
            "tensorflow": tf.__version__,
            "tf_keras": importlib.metadata.version("tf-keras"),
        }
        identity_ = identity(
            {"program": function.__name__, "source_sha256": source},
            arguments,
            self.profile,
            path={"graph": "tf.compat.v1.Session"},
            libraries=libraries,
        )
        name = re.sub(
            r"[^\w.-]",
            "",
            (function.__name__ + "".join(f"-{v}" for v in arguments.values())).replace(
                " ", "_"
            ),
        )
        settings = ", ".join(f"{key}={value}" for key, value in arguments.items())
        return self.obtain(
            identity_,
            name=name,
            description=f"{description}; TF1 program, {settings}",
            train=lambda: function(**arguments),
        )

    def obtain(self, identity_, *, name, description, train, build=None):
        """The run with this identity: loaded if recorded, else trained and recorded.

        `train` returns a `rnnbook.training.Run`; `build` makes an untrained
        model to load recorded weights into (None for runs without a Keras
        model, whose records keep no weights).
        """
        record = self.find(identity_)
        before = retrain_before(self.profile)
        if record is not None and (
            before is None or record.environment["recorded"] >= before
        ):
            run = self._load(record, build)
            show(run, "loaded")
            return run
        run = train()
        run.record = self._save(identity_, name, description, run, build)
        show(run, "trained")
        return run

    def _load(self, record, build):
        if record.weights is None:
            return record.as_run()
        path = self.folder / record.weights
        if not path.is_file():
            raise RegistryError(
                f"The run {record.key} ({record.description}) has a record but no"
                f" weights file {path}: restore it with git, or retrain the run"
                f" ({RETRAIN_VARIABLE}=1)."
            )
        model = build()
        model.load_weights(path)
        return record.as_run(model)

    def _save(self, identity_, name, description, run, build):
        key = key_of(identity_)
        record_path, weights_path = self._paths(name, key)
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob(f"*-{key}*"):  # the same run under an older name
            old.unlink()
        if run.model is not None:
            # A fresh model with the trained weights: saving the trained one would also
            # save its optimizer's state (Keras 3), three times the size, which loading
            # never uses.
            bare = build()
            bare.set_weights(run.model.get_weights())
            bare.save_weights(weights_path)
        record = Record(
            key=key,
            name=name,
            description=description,
            chapter=self.chapter,
            identity=identity_,
            figures={
                "parameters": int(run.parameters),
                "batch_size": int(run.batch_size),
                "num_train": int(run.num_train),
                "num_test": int(run.num_test),
                "test_loss": float(run.test_loss),
                "test_accuracy": float(run.test_accuracy),
            },
            history={
                column: _plain(run.history[column]) for column in run.history.columns
            },
            environment=environment(),
            weights=weights_path.name if run.model is not None else None,
        )
        record_path.write_text(json.dumps(dataclasses.asdict(record), indent=1) + "\n")
        return record


def _plain(column):
    """A history column as JSON numbers (ints stay ints)."""
    values = column.tolist()
    return [int(v) if isinstance(v, (bool, np.integer)) else v for v in values]


def _slug(model, recipe):
    """A readable file name for a run, e.g. ``lstm_1x100-cosine_3e-3_6x50_seed0``."""
    arguments = dict(model.arguments)
    size = f"{arguments.get('num_layers', 1)}x{arguments['num_units']}"
    kind = (
        arguments.get("kind", "lstm")
        if model.builder == "stack"
        else "tf1-classifier_lstm"
    )
    if arguments.get("bidirectional"):
        kind = f"bidirectional_{kind}"
    if arguments.get("blank_rows"):
        size += f"+{arguments['blank_rows']}blank"
    rate = f"{recipe.learning_rate:.0e}".replace("e-0", "e-")
    budget = f"{recipe.epochs}x{recipe.batch_size}"
    return f"{kind}_{size}-{recipe.schedule}_{rate}_{budget}_seed{recipe.seed}"


# --- What the chapters show of a run, with its provenance in the output's metadata.

# The figures of a run that chapters glue into their prose, and how.
FIGURES = {
    "test_accuracy": lambda run: 100 * run.test_accuracy,  # in percent
    "test_loss": lambda run: run.test_loss,
    "parameters": lambda run: run.parameters,
    "seconds_per_epoch": lambda run: run.seconds_per_epoch,
    "images_per_second": lambda run: run.images_per_second,
    "training_minutes": lambda run: float(run.history["seconds"].sum()) / 60,
}


def describe(record, action):
    """The line that announces a run: what it is, where it came from, what it scored.

    `action` is ``"loaded"``, ``"trained"`` (now, and recorded) or
    ``"shown"`` (another chapter's run, read from its record).
    """
    run = record.as_run()
    origin = {
        "loaded": f"loaded from the record of {chapter_title(record.chapter)}",
        "trained": "trained now and recorded",
        "shown": f"recorded by {chapter_title(record.chapter)}",
    }[action]
    model, _, recipe = record.description.partition("; ")
    environment = record.environment
    return "\n".join(
        [
            model,
            f"  {recipe}",
            f"  run {record.key}: {origin}",
            (
                f"  recorded {environment['recorded'][:10]} on {environment['cpu']},"
                f" {environment['cores']} cores"
            ),
            f"  test accuracy {FIGURES['test_accuracy'](run):.2f} %",
            (
                f"  {FIGURES['training_minutes'](run):.1f} min of training,"
                f" {run.seconds_per_epoch:.1f} s per epoch (wall time)"
            ),
        ]
    )


def _display(data, provenance):
    """Display `data` (a MIME bundle) with `provenance` in the output's metadata."""
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:  # a script or a test: print instead
        print(data.get("text/plain", data.get("text/markdown", "")))
        return
    display(data, raw=True, metadata={METADATA_KEY: provenance})


def show(run, action):
    """Display the line `describe` gives for `run`, with its key in the metadata."""
    _display(
        {"text/plain": describe(run.record, action)},
        {"run": run.record.key, "action": action},
    )


def glue(name, run, figure):
    """Glue one of a run's `FIGURES` for the prose, as ``myst_nb.glue`` does.

    The output also keeps the run's key and the figure's name, so that the
    saved value can be checked against the record.
    """
    from IPython import get_ipython
    from IPython.display import display

    value = FIGURES[figure](run)
    value = int(value) if figure == "parameters" else float(value)
    if get_ipython() is None:  # a script or a test: nothing to glue into
        return
    # myst-nb finds glued values by their "scrapbook" metadata and this MIME prefix
    # (myst_nb.ext.glue.glue with display=False).
    prefix = "application/papermill.record/"
    display(
        {prefix + "text/plain": repr(value)},
        raw=True,
        metadata={
            "scrapbook": {"name": name, "mime_prefix": prefix},
            METADATA_KEY: {"run": run.record.key, "figure": figure},
        },
    )


# The columns `table` can show: header, and the text of a cell for a run.
COLUMNS = {
    "model": ("Model", lambda run: run.record.description.split("; ")[0]),
    "recipe": ("Recipe", lambda run: run.record.description.split("; ")[1]),
    "chapter": (
        "Trained in",
        lambda run: chapter_title(run.record.chapter).capitalize(),
    ),
    "parameters": ("Parameters", lambda run: f"{run.parameters:,}"),
    "epochs": ("Epochs", lambda run: f"{run.epochs}"),
    "batch_size": ("Batch", lambda run: f"{run.batch_size}"),
    "test_accuracy": (
        "Test accuracy (%)",
        lambda run: f"{100 * run.test_accuracy:.2f}",
    ),
    "standard_error": (
        "± test-set s.e. (points)",
        lambda run: f"{100 * standard_error(run):.2f}",
    ),
    "seconds_per_epoch": ("s / epoch¹", lambda run: f"{run.seconds_per_epoch:.1f}"),
    "images_per_second": ("Images / s¹", lambda run: f"{run.images_per_second:,.0f}"),
}
TIME_NOTE = (
    "¹ Training wall time of that run on its machine (the median epoch after the"
    " first); a run on another machine or day differs. Chapter 8 compares speeds."
)


def standard_error(run):
    """The standard error of a test accuracy from the choice of test images alone:
    sqrt(p(1 - p)/n)."""
    return math.sqrt(
        run.test_accuracy * (1 - run.test_accuracy) / run.record.figures["num_test"]
    )


def table_markdown(rows, columns, label="Run"):
    """A Markdown table (`rnnbook.tables`): a row per ``(label, run)`` of `rows`,
    the `COLUMNS` named by `columns`; no label column if `label` is None."""
    unknown = [column for column in columns if column not in COLUMNS]
    if unknown:
        raise ValueError(
            f"Unknown column(s) {unknown}; choose from {', '.join(COLUMNS)}."
        )
    rows = list(rows)
    frame = pd.DataFrame(
        {
            COLUMNS[column][0]: [COLUMNS[column][1](run) for _, run in rows]
            for column in columns
        }
    )
    if label:
        frame.insert(0, label, [str(name) for name, _ in rows])
    timed = any(COLUMNS[column][0].endswith("¹") for column in columns)
    return tables.markdown(frame, note=TIME_NOTE if timed else None)


def table(rows, columns, label="Run"):
    """Display `table_markdown` of `rows`, with the runs' keys in its metadata."""
    rows = list(rows)
    text = table_markdown(rows, columns, label)
    provenance = {
        "table": {
            "rows": [[str(name), run.record.key] for name, run in rows],
            "columns": list(columns),
            "label": label,
        }
    }
    _display({"text/markdown": text, "text/plain": text}, provenance)
