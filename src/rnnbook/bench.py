"""The training-speed benchmark: every way to train the book's models, side by side.

For each model the book trains (`MODELS`), each candidate way of training it
(`CANDIDATES`: the Keras layer as is, ``unroll``, ``jit``, both, a fused or
input-projecting layer of `rnnbook.fused`, and the TF1 programs' graph)
trains on the same random images, and the report (`summarize`) gives each
candidate's median images per second over the rounds and its ratio to the
TF1 graph timed in the same run. Chapter 8 shows and explains the results.

How the timings are kept clean, on a shared machine with two cores:

- **A process per candidate** (`Worker`): each candidate's TensorFlow state
  (and the TF1 graph) stays apart, and the warm-ups (tracing and compiling,
  mostly single-threaded Python, most of a run's time) go side by side, one
  per core, in `SET_UP_ORDER`. Nothing is timed until every candidate of a
  model is warm.
- **Turns in a random order**: in each round the candidates train one at a
  time, in a new order, while the others wait, so that a slow moment of the
  machine falls on any of them, and none is timed while another computes.
- **Medians and ratios**: a single pass can be slowed by anything else the
  machine does; the median over the rounds is the figure, and the ratio of
  two candidates' medians from the same run is steadier still, since both
  saw the same machine. Speeds from two separate runs are never compared.
- **The book's data path**: every Keras candidate reads its batches from
  `rnnbook.training.batches` (Keras's own pipeline from NumPy arrays has
  tf.data's autotuning on, which stalls the end of short passes) and runs
  `rnnbook.training.STEPS_PER_EXECUTION` steps per call, as the chapters do.
- **The machine's peak**: the float32 matrix-multiply peak (`matmul_peak`) is
  measured in the same run, so that achieved FLOP/s read as a share of it.

Run ``python -m rnnbook.bench`` to print the table and write
``results/full/bench.json`` (with the machine it ran on); ``--help`` lists
the options that narrow it.
"""

import argparse
import dataclasses
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import pathlib
import sys
import tempfile
import time
import traceback

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from rnnbook import cells, config, data, fused, legacy, models, runs, training

__all__ = [
    "Spec",
    "MODELS",
    "CANDIDATES",
    "RESULTS_FILE",
    "models_named",
    "keras_model",
    "custom_model",
    "applies",
    "book_path",
    "book_speed_ratio",
    "trainer",
    "matmul_gflops",
    "matmul_peak",
    "measure",
    "summarize",
    "run",
    "write",
    "read",
    "results_path",
    "BenchmarkError",
    "WorkerError",
]

RESULTS_FILE = "bench.json"


@dataclasses.dataclass(frozen=True)
class Spec:
    """One model to time: the kind of layer, its width and depth, and the batch size."""

    kind: str
    num_units: int
    num_layers: int
    batch_size: int

    def __post_init__(self):
        if self.kind not in models.RECURRENT_LAYERS:
            raise ValueError(
                f"Unknown kind of layer {self.kind!r}; choose one of"
                f" {', '.join(models.RECURRENT_LAYERS)}."
            )
        for name in ("num_units", "num_layers", "batch_size"):
            cells.check_units(getattr(self, name), name)

    @property
    def name(self):
        """The model's key in the benchmark's tables and bench.json: 'lstm 3x150'."""
        return f"{self.kind} {self.num_layers}x{self.num_units}"

    @property
    def title(self):
        """The model as the book's tables and figures name it: 'LSTM 3x150'."""
        return f"{models.KIND_NAMES[self.kind]} {self.num_layers}x{self.num_units}"

    def flops_per_image(self):
        """FLOPs (2 x multiply-adds) of one training step per image: forward + backward.

        Counts the matrix multiplies only (the input and recurrent kernels at
        every step, and the output layer), which dominate the work.
        """
        blocks = {"lstm": 4, "peephole_lstm": 4, "gru": 3, "simple_rnn": 1}[self.kind]
        inputs, forward = data.IMAGE_SIZE, 0
        for _ in range(self.num_layers):
            forward += (
                data.IMAGE_SIZE
                * 2
                * (inputs + self.num_units)
                * blocks
                * self.num_units
            )
            inputs = self.num_units
        forward += 2 * self.num_units * data.NUM_CLASSES
        return 3 * forward


def _book_models():
    """The models of chapters 3 to 6, at the sizes and batches of `rnnbook.config`."""
    single, stacked = (
        config.CHAPTERS["03_single_lstm"],
        config.CHAPTERS["04_stacked_lstms"],
    )
    sizes = (
        (single["num_units"], 1, single["batch_size"]),
        (stacked["num_units"], stacked["num_layers"], stacked["batch_size"]),
    )
    return tuple(
        Spec(kind, *size) for kind in ("lstm", "peephole_lstm", "gru") for size in sizes
    )


# The models the book trains (chapters 3 to 6), with their batch sizes.
MODELS = _book_models()


def models_named(names):
    """The specs of `MODELS` called `names` (e.g. ``"lstm 3x150"``), in that order.

    An unknown name is an error that lists the known ones, so that a typo in
    `rnnbook.config` or on the command line cannot select nothing.
    """
    by_name = {spec.name: spec for spec in MODELS}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(
            f"Unknown model(s) {unknown}; the benchmark's models are {list(by_name)}."
        )
    return [by_name[name] for name in names]


# Every way to train a model. "keras" is the layer with Keras's defaults;
# "fused" is TensorFlow's fused LSTM kernel and "projected" the layers that
# project all inputs up front (both rnnbook.fused); "tf1" the TF1 programs' graph.
CANDIDATES = ("keras", "unroll", "jit", "unroll+jit", "fused", "projected", "tf1")

# The TF1 cell of each kind, as the second TF1 program names them.
TF1_CELLS = {
    "lstm": ("BasicLSTMCell", {}),
    "peephole_lstm": ("LSTMCell", {"use_peepholes": True}),
    "gru": ("GRUCell", {}),
}

# The `rnnbook.fused` layer of each custom candidate and kind, and its options.
CUSTOM_LAYERS = {
    ("fused", "lstm"): (fused.FusedLSTM, {}),
    ("fused", "peephole_lstm"): (fused.FusedLSTM, {"peepholes": True}),
    ("projected", "lstm"): (fused.ProjectedLSTM, {}),
    ("projected", "peephole_lstm"): (fused.ProjectedLSTM, {"peepholes": True}),
    ("projected", "gru"): (fused.ProjectedGRU, {}),
}
# The custom candidates timed: one per kind of layer. The LSTMs get TensorFlow's
# fused kernel; the GRU, which has no trainable fused kernel, the projected layer.
# (The projected LSTMs are built and tested, and left out to keep the run short.)
TIMED_CUSTOM = {("fused", "lstm"), ("fused", "peephole_lstm"), ("projected", "gru")}


def keras_model(spec, unroll):
    """`rnnbook.models.stack` for `spec`, its recurrent layers unrolled if `unroll`."""
    return models.stack(spec.kind, spec.num_units, spec.num_layers, unroll=unroll)


def custom_model(spec, candidate):
    """`spec` built from the fused layers of `candidate`: `keras_model`'s function."""
    if (candidate, spec.kind) not in CUSTOM_LAYERS:
        raise ValueError(
            f"No {candidate!r} layer for {spec.kind!r}; there are:"
            f" {sorted(CUSTOM_LAYERS)}."
        )
    layer, options = CUSTOM_LAYERS[candidate, spec.kind]
    recurrent = [
        layer(spec.num_units, return_sequences=depth < spec.num_layers - 1, **options)
        for depth in range(spec.num_layers)
    ]
    return keras.Sequential(
        [
            keras.Input(models.INPUT_SHAPE),
            *recurrent,
            keras.layers.Dense(data.NUM_CLASSES),
        ]
    )


def applies(spec, candidate):
    """Whether `trainer` can build `candidate` for `spec` (one custom path per kind)."""
    if candidate not in CANDIDATES:
        raise ValueError(
            f"Unknown candidate {candidate!r}; choose from {', '.join(CANDIDATES)}."
        )
    if candidate == "tf1":
        return spec.kind in TF1_CELLS
    if candidate in ("fused", "projected"):
        return (candidate, spec.kind) in TIMED_CUSTOM
    return True


def book_path(spec):
    """The candidate the chapters train `spec` with (`training.speed_options`).

    The full profile's: what the book shows, even in a smoke run.
    """
    options = training.speed_options(spec.batch_size, profile="full")
    return "unroll+jit" if options["jit_compile"] else "unroll"


def book_speed_ratio(table, spec, other):
    """Images per second of `spec` over `other`'s, both on the book's path, in one run.

    The ratio chapters quote when they compare the speed of two models: both
    were timed in the same run, alternating, so the machine's drift mostly
    cancels, unlike the wall times of two separate training runs.
    """
    speeds = [
        table.loc[(s.name, book_path(s)), "images_per_second"] for s in (spec, other)
    ]
    return float(speeds[0] / speeds[1])


def trainer(spec, candidate):
    """``(train, close)``: ``train(images, labels)`` trains one pass with `candidate`.

    ``close()`` frees what the candidate holds (the TF1 program's session).
    """
    if candidate == "tf1":
        if spec.kind not in TF1_CELLS:
            raise ValueError(
                f"TF1 has no cell for {spec.kind!r}; it has cells for"
                f" {', '.join(TF1_CELLS)}."
            )
        cell_name, options = TF1_CELLS[spec.kind]
        step = legacy.training_step(
            cell_name, spec.num_units, spec.num_layers, **options
        )

        def train(images, labels):
            for start in range(0, len(images), spec.batch_size):
                step(
                    images[start : start + spec.batch_size],
                    labels[start : start + spec.batch_size],
                )

        return train, step.close
    if candidate not in CANDIDATES:
        raise ValueError(
            f"Unknown candidate {candidate!r}; choose from {', '.join(CANDIDATES)}."
        )
    keras.utils.set_random_seed(0)
    if candidate in ("fused", "projected"):
        model = custom_model(spec, candidate)
    else:
        model = keras_model(spec, unroll="unroll" in candidate)
    recipe = training.Recipe(
        epochs=1,
        batch_size=spec.batch_size,
        learning_rate=1e-3,
        seed=0,
        schedule="constant",
    )
    training.compile_model(model, recipe, jit_compile="jit" in candidate)

    def train(images, labels):
        model.fit(
            training.batches(images, labels, spec.batch_size),
            epochs=1,
            shuffle=False,
            verbose=0,
        )

    return train, _nothing


def matmul_gflops(m, k, repeats=20, fastest=False):
    """GFLOP/s of float32 (m, k) x (k, k) matrix multiplies on this machine.

    The median of `repeats` timings, or with `fastest` the fastest of them.
    Small multiplies run as a chain, each waiting for the one before as a
    recurrence does, long enough for each timing to span a millisecond or so
    (at most 1,000 of them: each is an operation in the traced graph).
    """
    x, w = tf.random.normal((m, k)), tf.random.normal((k, k)) / k**0.5
    chain = min(1_000, max(1, int(1e8 // (2 * m * k * k))))

    @tf.function
    def multiply(x, w):
        for _ in range(chain):
            x = tf.matmul(x, w)
        return x

    multiply(x, w).numpy()  # trace and warm up
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        multiply(x, w).numpy()
        seconds.append(time.perf_counter() - start)
    return (
        2
        * m
        * k
        * k
        * chain
        / float(np.min(seconds) if fastest else np.median(seconds))
        / 1e9
    )


def matmul_peak():
    """This machine's float32 matmul peak in GFLOP/s: the fastest of 50 big multiplies.

    The fastest, not the median: a peak is what the machine can do, and on a
    shared machine interruptions only ever make a timing slower. Fifty, not
    twenty, because such a slow spell can last longer than twenty multiplies.
    """
    return matmul_gflops(1024, 1024, repeats=50, fastest=True)


# The order in which a spec's candidates are set up: the slowest to trace and compile
# first, so that the longest warm-up starts at once and the others fill in beside it.
SET_UP_ORDER = ("unroll+jit", "unroll", "projected", "jit", "keras", "fused", "tf1")


class BenchmarkError(RuntimeError):
    """Some candidates failed: `timings` holds every row measured, `failures` why."""

    def __init__(self, failures, timings):
        lines = "\n".join(
            f"- {model}, {candidate}: {error.splitlines()[-1]}"
            for model, candidate, error in failures
        )
        super().__init__(
            f"{len(failures)} candidate(s) failed; the others were measured:\n{lines}"
        )
        self.failures, self.timings = failures, timings


def measure(specs, candidates, num_images=10_000, rounds=3, seed=0, start_worker=None):
    """Time every candidate on every spec; one row per (spec, candidate, round).

    Each candidate trains on `num_images` timed images in all, split evenly
    over the `rounds` (each pass rounded up to whole batches). Candidates that
    do not apply to a spec (see `applies`) are left out. Every candidate runs
    in a process of its own (`Worker`), where for each spec it is built and
    warmed up first on one call of `rnnbook.training.STEPS_PER_EXECUTION`
    batches and a short call like the last of a timed pass, so that every
    trace and compilation happens before the timing; those warm-ups run side
    by side, as many as the machine has cores. Then in every round the
    candidates train in a new random order, one at a time while the others
    wait, each on the same random images.

    A candidate that fails on a spec is dropped from that spec (its worker is
    replaced for the next one) and the others go on; at the end a
    `BenchmarkError` lists the failures and carries every row measured.
    `start_worker` starts a candidate's process (default `Worker`; the tests
    pass one that breaks a candidate).

    The processes are started with "spawn": a script that calls this function
    must do so under ``if __name__ == "__main__":``.
    """
    unknown = [candidate for candidate in candidates if candidate not in CANDIDATES]
    if unknown:
        raise ValueError(
            f"Unknown candidate(s) {unknown}; choose from {', '.join(CANDIDATES)}."
        )
    rng = np.random.default_rng(seed)
    rows, failures, workers = [], [], {}

    def fail(spec, candidate, error):
        failures.append((spec.name, candidate, str(error)))
        workers.pop(candidate).close()

    try:
        for spec in specs:
            count = spec.batch_size * math.ceil(num_images / rounds / spec.batch_size)
            batches_per_pass = count // spec.batch_size
            warm_up = [
                spec.batch_size * training.STEPS_PER_EXECUTION,
                spec.batch_size * (batches_per_pass % training.STEPS_PER_EXECUTION),
            ]
            images = rng.uniform(
                0, 1, (max(count, *warm_up), data.IMAGE_SIZE, data.IMAGE_SIZE)
            ).astype(np.float32)
            labels = rng.integers(0, data.NUM_CLASSES, len(images))
            active = [candidate for candidate in candidates if applies(spec, candidate)]
            for candidate in active:
                if candidate not in workers:
                    workers[candidate] = (start_worker or Worker)()
            for candidate, error in _set_up(
                workers, spec, active, images, labels, warm_up
            ).items():
                fail(spec, candidate, error)
                active.remove(candidate)
            for round_ in range(rounds):
                for candidate in map(str, rng.permutation(active)):
                    if candidate not in workers:
                        continue  # it failed in an earlier round
                    workers[candidate].send("time", count)
                    try:
                        seconds = workers[candidate].receive()
                    except WorkerError as error:
                        fail(spec, candidate, error)
                        continue
                    rows.append(
                        {
                            "model": spec.name,
                            "batch_size": spec.batch_size,
                            "candidate": candidate,
                            "round": round_,
                            "images": count,
                            "seconds": seconds,
                            "images_per_second": count / seconds,
                        }
                    )
    finally:
        for worker in workers.values():
            worker.close()
    timings = pd.DataFrame(rows)
    if failures:
        raise BenchmarkError(failures, timings)
    return timings


def _set_up(workers, spec, candidates, images, labels, warm_up):
    """Build and warm up `candidates` for `spec`, each in its worker, a core each.

    Returns the `WorkerError` of each candidate that failed to set up.
    """
    waiting = sorted(candidates, key=SET_UP_ORDER.index)
    busy, errors = {}, {}
    while waiting or busy:
        while waiting and len(busy) < (os.cpu_count() or 1):
            candidate = waiting.pop(0)
            workers[candidate].send("set_up", spec, candidate, images, labels, warm_up)
            busy[workers[candidate]] = candidate
        for worker in multiprocessing.connection.wait(list(busy)):
            candidate = busy.pop(worker)
            try:
                worker.receive()
            except WorkerError as error:
                errors[candidate] = error
    return errors


class WorkerError(RuntimeError):
    """A benchmark worker failed a command (its traceback is the message), or died."""


class Worker:
    """One candidate's own process: `measure` sends it commands, waits for answers.

    A process per candidate lets the warm-ups, mostly single-threaded Python
    tracing and compiling, run side by side on the machine's cores, and keeps
    each candidate's TensorFlow state (and the TF1 graph) apart.
    ``send("set_up", spec, candidate, images, labels, warm_up)`` builds the
    candidate for `spec` and trains it once on each of the `warm_up` image
    counts; ``send("time", count)`` trains it on the first `count` images and
    answers the seconds it took.

    The process writes its standard error (TensorFlow's start-up log, a
    dozen lines per process) to a temporary file rather than into the
    notebook that runs the benchmark; a failure in the worker comes back as
    its traceback, and if the process dies, the error quotes the file's end.
    """

    def __init__(self):
        context = multiprocessing.get_context(
            "spawn"
        )  # a fork would copy this process's TensorFlow threads
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True)
        self._log = tempfile.TemporaryFile()
        stderr = os.dup(2)
        os.dup2(self._log.fileno(), 2)  # the child inherits file descriptor 2
        try:
            self._process.start()
        finally:
            os.dup2(stderr, 2)
            os.close(stderr)
        child.close()

    def log(self, max_chars=4000):
        """The end of what the process wrote to its standard error."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-max_chars:]

    def fileno(self):
        """The connection's file descriptor, so that
        `multiprocessing.connection.wait` can wait on workers."""
        return self._connection.fileno()

    def send(self, command, *args):
        self._connection.send((command, args))

    def receive(self):
        """The answer to the last command; a failure in the worker is raised here."""
        try:
            failed, answer = self._connection.recv()
        except EOFError:
            self._process.join(timeout=10)
            raise WorkerError(
                "The benchmark's worker process died (exit code"
                f" {self._process.exitcode}); the end of its standard error:\n"
                f"{self.log()}"
            ) from None
        if failed:
            raise WorkerError(f"The benchmark's worker process failed:\n{answer}")
        return answer

    def close(self, timeout=10):
        """Close the connection, kill the process after `timeout` s, and reap it."""
        self._connection.close()
        self._process.join(timeout=timeout)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._log.close()


def _serve(connection):
    """The loop of a `Worker` process: carry out commands until the connection ends."""
    train = images = labels = None
    close = _nothing  # what frees the current candidate
    while True:
        try:
            command, args = connection.recv()
        except EOFError:
            close()
            return
        try:
            if command == "set_up":
                spec, candidate, images, labels, warm_up = args
                close()
                train, close = None, _nothing
                keras.backend.clear_session()
                train, close = trainer(spec, candidate)
                for count in warm_up:
                    if count:
                        train(images[:count], labels[:count])
                answer = None
            elif command == "time" and train is not None:
                (count,) = args
                start = time.perf_counter()
                train(images[:count], labels[:count])
                answer = time.perf_counter() - start
            else:
                raise ValueError(
                    f"Unknown command {command!r}, or 'time' before 'set_up'."
                )
        except Exception:
            connection.send((True, traceback.format_exc()))
        else:
            connection.send((False, answer))


def _nothing():
    """A candidate's ``close`` when it holds nothing to free."""


def summarize(timings, specs, peak_gflops=None, baseline="tf1"):
    """Medians of `measure`'s rows per model and candidate, with ratios and FLOP/s.

    Ratios are medians over those of the baseline in the same run; with
    `peak_gflops`, ``peak_fraction`` is the achieved FLOP/s over that peak.
    """
    table = timings.groupby(["model", "candidate"], sort=False)[
        "images_per_second"
    ].agg(["median", "min", "max"])
    table.columns = ["images_per_second", "min", "max"]
    if baseline in table.index.get_level_values("candidate"):
        base = table.xs(baseline, level="candidate")["images_per_second"]
        table[f"vs_{baseline}"] = (
            table["images_per_second"]
            / base.reindex(table.index.get_level_values("model")).to_numpy()
        )
    flops = {spec.name: spec.flops_per_image() for spec in specs}
    table["gflops"] = (
        table["images_per_second"]
        * table.index.get_level_values("model").map(flops)
        / 1e9
    )
    if peak_gflops:
        table["peak_fraction"] = table["gflops"] / peak_gflops
    return table


def run(
    specs=MODELS, candidates=CANDIDATES, num_images=10_000, rounds=3, seed=0, peak=None
):
    """Measure the peak (unless given), then each candidate: table, timings, peak.

    Pass the `peak` of a `matmul_peak` measured earlier in the same session,
    so that every fraction of the peak a chapter shows uses the same one.
    """
    peak = matmul_peak() if peak is None else peak
    timings = measure(
        specs, candidates, num_images=num_images, rounds=rounds, seed=seed
    )
    return summarize(timings, specs, peak_gflops=peak), timings, peak


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m rnnbook.bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--images",
        type=int,
        default=10_000,
        help="timed images per candidate, over all rounds (default 10,000)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="timed passes per candidate (default 3)"
    )
    parser.add_argument(
        "--candidates", nargs="+", default=list(CANDIDATES), choices=CANDIDATES
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=[spec.name for spec in MODELS],
        metavar="MODEL",
        help=f"any of: {', '.join(repr(spec.name) for spec in MODELS)}",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="JSON file to write (default results/full/bench.json)",
    )
    args = parser.parse_args(argv)
    try:
        specs = models_named(args.models)
    except ValueError as error:
        parser.error(str(error))
    if args.images < 1 or args.rounds < 1:
        parser.error("--images and --rounds must be positive")
    start = time.perf_counter()
    output = args.output or results_path()
    peak = matmul_peak()
    try:
        timings = measure(
            specs, args.candidates, num_images=args.images, rounds=args.rounds
        )
    except BenchmarkError as error:
        # Keep what was measured: write it, say what failed, and end with an error.
        table = (
            summarize(error.timings, specs, peak_gflops=peak)
            if len(error.timings)
            else pd.DataFrame()
        )
        write(
            output,
            table,
            error.timings,
            peak,
            seconds=time.perf_counter() - start,
            failures=error.failures,
        )
        print(f"wrote the rows measured to {output}", file=sys.stderr)
        raise SystemExit(str(error)) from None
    table = summarize(timings, specs, peak_gflops=peak)
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(f"float32 matmul peak: {peak:.0f} GFLOP/s")
        print(table.round(2))
    write(output, table, timings, peak, seconds=time.perf_counter() - start)
    print(f"wrote {output} ({time.perf_counter() - start:.0f} s)")


def write(path, table, timings, peak, seconds, failures=()):
    """Save a benchmark run as JSON: peak, summary rows, every timing, any failures."""
    record = {
        "environment": runs.environment(),
        "peak_gflops": peak,
        "seconds": seconds,
        "summary": table.reset_index().to_dict(orient="records"),
        "timings": timings.to_dict(orient="records"),
    }
    if failures:
        record["failures"] = [
            {"model": model, "candidate": candidate, "error": error}
            for model, candidate, error in failures
        ]
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def read(path=None):
    """Load what `write` saved: (summary table, raw timings, peak GFLOP/s).

    By default the committed run of the full profile, `RESULTS`. The
    table's ``attrs["environment"]`` says where and when it ran (empty for
    runs saved before that was recorded).
    """
    record = json.loads(pathlib.Path(path or results_path()).read_text())
    table = pd.DataFrame(record["summary"]).set_index(["model", "candidate"])
    table.attrs["environment"] = record.get("environment", {})
    return table, pd.DataFrame(record["timings"]), record["peak_gflops"]


def results_path(profile="full"):
    """Where the benchmark of `profile` is saved: ``results/<profile>/bench.json``."""
    return runs.results_dir(profile) / RESULTS_FILE


if __name__ == "__main__":
    main()
