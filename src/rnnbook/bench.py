"""The training-speed benchmark: every way to train the book's models, side by side.

For each model the book trains (`MODELS`), each candidate way of training it
(`CANDIDATES`: the Keras layer as is, ``unroll``, ``jit``, both, the layers
of `rnnbook.fused`, bfloat16 where the CPU has it, PyTorch's layers where
PyTorch is installed, and the TF1 programs' graph) trains on the same random
images, and the report (`summarize`) gives each candidate's fastest and
median images per second, how many of its passes fell into the machine's
slow mode, and its ratios to the TF1 graph and to PyTorch timed in the same
run. Chapter 8 shows and explains the results.

How the timings are kept clean, on a shared machine with two cores:

- **A process per candidate** (`Worker`): each candidate's TensorFlow state
  (and the TF1 graph) stays apart, and the warm-ups (tracing and compiling,
  mostly single-threaded Python, most of a run's time) go side by side, one
  per core, in `SET_UP_ORDER`. Nothing is timed until every candidate of a
  model is warm.
- **Turns in a random order**: in each round the candidates train one at a
  time, in a new order, while the others wait, so that a slow moment of the
  machine falls on any of them, and none is timed while another computes.
  Many short passes (rounds), not a few long ones.
- **The fastest pass, and the slow mode counted**: on this shared machine the
  same model in the same process runs at full speed in some passes and at
  about half in others, when the machine takes the CPU away. That slow mode
  only ever adds time, so, as ``timeit`` does, a candidate's figure is its
  fastest pass; the median stands beside it, and `summarize` counts the
  passes slower than `SLOW_MODE_SHARE` of the fastest. Ratios to the
  baseline use `RATIO_STATISTIC` (`ratios` gives every statistic; chapter 8
  shows why this one). Speeds from two separate runs are never compared.
- **The book's data path**: every Keras candidate reads its batches from
  `rnnbook.training.batches` (Keras's own pipeline from NumPy arrays has
  tf.data's autotuning on, which stalls the end of short passes) and runs
  `rnnbook.training.STEPS_PER_EXECUTION` steps per call, as the chapters do.
- **The machine's peak**: the float32 matrix-multiply peak (`matmul_peak`) is
  measured in the same run, so that achieved FLOP/s read as a share of it
  (on an Ampere or later GPU, TF32: `rnnbook.devices.matmul_precision`).
- **A GPU, if there is one**: every process takes GPU memory as it needs it
  (`rnnbook.devices.use_memory_growth`), and the warm-ups go one at a time.

Run ``python -m rnnbook.bench`` to print the table and write
``results/full/bench.json`` (with the machine it ran on); ``--help`` lists
the options that narrow it.
"""

import argparse
import dataclasses
import importlib.util
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

from rnnbook import cells, config, data, devices, fused, legacy, models, runs, training

__all__ = [
    "Spec",
    "MODELS",
    "CANDIDATES",
    "RESULTS_FILE",
    "IMAGES",
    "ROUNDS",
    "SLOW_MODE_SHARE",
    "RATIO_STATISTICS",
    "RATIO_STATISTIC",
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
    "warm_ups_at_once",
    "torch_installed",
    "ratios",
    "ratios_by_run",
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
        every step, and the output layer), which dominate the work. Backward,
        each multiply is done twice more, for the gradients of its two
        operands, except the first layer's input kernel: no gradient flows
        back to the images, so it costs its kernel's gradient only.
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
        images_gradient = (
            data.IMAGE_SIZE * 2 * data.IMAGE_SIZE * blocks * self.num_units
        )
        return 3 * forward - images_gradient


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
# "fused" is TensorFlow's fused LSTM kernel, "projected" the layers that
# project all inputs up front, "concat" TF1's one multiply over [x, h] per step
# and "concat+hoist" that for the first layer with the later layers' inputs
# projected up front (all rnnbook.fused); "bf16" the book's path in
# mixed_bfloat16; "torch" PyTorch's nn.LSTM / nn.GRU, the reference a reader
# could pick instead; "tf1" the TF1 programs' graph, the baseline.
CANDIDATES = (
    "keras",
    "unroll",
    "jit",
    "unroll+jit",
    "fused",
    "projected",
    "concat",
    "concat+hoist",
    "bf16",
    "torch",
    "tf1",
)

# Timed images per candidate and model, over this many rounds of one pass each:
# passes of 1,000 images, a second or so for a stack, short enough that most
# fall between the machine's slow spells.
IMAGES, ROUNDS = 8_000, 8

# A pass slower than this share of its candidate's fastest pass ran in the
# machine's slow mode: passes here run at about 1.0 or 0.5 of the fastest.
SLOW_MODE_SHARE = 0.75

# How a ratio of two candidates' speeds is taken from their passes (`ratios`):
# "fastest" divides their fastest passes; "paired" takes the ratio within each
# round (the two passes next to each other in time), then its median; "median"
# divides the medians of their passes. The table uses RATIO_STATISTIC: chapter 8
# shows the spread of each over separate runs.
RATIO_STATISTICS = ("fastest", "paired", "median")
RATIO_STATISTIC = "fastest"

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
    ("concat", "lstm"): (fused.ConcatLSTM, {}),
    ("concat", "peephole_lstm"): (fused.ConcatLSTM, {"peepholes": True}),
    ("concat", "gru"): (fused.ConcatGRU, {}),
}
# "concat+hoist": the first layer of "concat", then these layers, whose inputs
# (the sequence of the layer below) are all known before their loop starts. The
# GRU's is TF1's convention too (reset_after=False), as ConcatGRU's is.
HOISTED_LAYERS = {
    "lstm": (fused.ProjectedLSTM, {}),
    "peephole_lstm": (fused.ProjectedLSTM, {"peepholes": True}),
    "gru": (fused.ProjectedGRU, {"reset_after": False}),
}
# PyTorch's layer of each kind (it has no peephole LSTM).
TORCH_LAYERS = {"lstm": "LSTM", "gru": "GRU"}
# The custom candidates timed: one per kind of layer. The LSTMs get TensorFlow's
# fused kernel; the GRU, which has no trainable fused kernel, the projected layer.
# (The projected LSTMs are built and tested, and left out to keep the run short.)
TIMED_CUSTOM = {("fused", "lstm"), ("fused", "peephole_lstm"), ("projected", "gru")}


def keras_model(spec, unroll):
    """`rnnbook.models.stack` for `spec`, its recurrent layers unrolled if `unroll`."""
    return models.stack(spec.kind, spec.num_units, spec.num_layers, unroll=unroll)


def custom_model(spec, candidate):
    """`spec` built from the `rnnbook.fused` layers of `candidate`.

    The function of `keras_model`'s, except that the GRU of "concat" and
    "concat+hoist" has TF1's convention (``reset_after=False``), as the TF1
    program's has.
    """
    first = "concat" if candidate == "concat+hoist" else candidate
    if (first, spec.kind) not in CUSTOM_LAYERS:
        raise ValueError(
            f"No {candidate!r} layer for {spec.kind!r}; there are:"
            f" {sorted(CUSTOM_LAYERS)} and concat+hoist for each kind of concat."
        )
    layers = [CUSTOM_LAYERS[first, spec.kind]] + [
        HOISTED_LAYERS[spec.kind]
        if candidate == "concat+hoist"
        else CUSTOM_LAYERS[first, spec.kind]
    ] * (spec.num_layers - 1)
    recurrent = [
        layer(spec.num_units, return_sequences=depth < spec.num_layers - 1, **options)
        for depth, (layer, options) in enumerate(layers)
    ]
    return keras.Sequential(
        [
            keras.Input(models.INPUT_SHAPE),
            *recurrent,
            keras.layers.Dense(data.NUM_CLASSES),
        ]
    )


def applies(spec, candidate):
    """Whether `trainer` can build `candidate` for `spec` on this machine.

    One of "fused" and "projected" per kind; "concat+hoist" for stacks only
    (a single layer has nothing to hoist); "bf16" where the CPU computes
    bfloat16 (`rnnbook.devices.bfloat16_supported`); "torch" where PyTorch is
    installed, for the kinds it has.
    """
    if candidate not in CANDIDATES:
        raise ValueError(
            f"Unknown candidate {candidate!r}; choose from {', '.join(CANDIDATES)}."
        )
    if candidate == "tf1":
        return spec.kind in TF1_CELLS
    if candidate in ("fused", "projected"):
        return (candidate, spec.kind) in TIMED_CUSTOM
    if candidate == "concat":
        return (candidate, spec.kind) in CUSTOM_LAYERS
    if candidate == "concat+hoist":
        return spec.num_layers > 1 and ("concat", spec.kind) in CUSTOM_LAYERS
    if candidate == "bf16":
        return devices.bfloat16_supported()
    if candidate == "torch":
        return spec.kind in TORCH_LAYERS and torch_installed()
    return True


def torch_installed():
    """Whether PyTorch can be imported (``pip install .[torch]``)."""
    return importlib.util.find_spec("torch") is not None


def book_path(spec, profile="full"):
    """The candidate the chapters train `spec` with (`training.speed_options`).

    By default the full profile's, what the book shows; the smoke profile's
    path never has XLA.
    """
    options = training.speed_options(
        spec.batch_size, kind=spec.kind, profile=profile, gpu=False
    )
    return "unroll+jit" if options["jit_compile"] else "unroll"


def book_speed_ratio(table, spec, other):
    """Images per second of `spec` over `other`'s, both on the book's path, in one run.

    The ratio chapters quote when they compare the speed of two models: both
    were timed in the same run, alternating, so the machine's drift mostly
    cancels, unlike the wall times of two separate training runs. Their
    fastest passes, for the reason `RATIO_STATISTIC` is "fastest".
    """
    speeds = [table.loc[(s.name, book_path(s)), "fastest"] for s in (spec, other)]
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
    if candidate == "torch":
        return _torch_trainer(spec), _nothing
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy(
        "mixed_bfloat16" if candidate == "bf16" else "float32"
    )
    jit_compile = "jit" in candidate
    if candidate in ("fused", "projected", "concat", "concat+hoist"):
        model = custom_model(spec, candidate)
    elif candidate == "bf16":  # the book's path, in bfloat16
        model = keras_model(spec, unroll=True)
        jit_compile = book_path(spec) == "unroll+jit"
    else:
        model = keras_model(spec, unroll="unroll" in candidate)
    recipe = training.Recipe(
        epochs=1,
        batch_size=spec.batch_size,
        learning_rate=1e-3,
        seed=0,
        schedule="constant",
    )
    training.compile_model(model, recipe, jit_compile=jit_compile)

    def train(images, labels):
        model.fit(
            training.batches(images, labels, spec.batch_size),
            epochs=1,
            shuffle=False,
            verbose=0,
        )

    return train, _nothing


def _torch_trainer(spec):
    """PyTorch's layer for `spec`, then a linear layer, trained with Adam as the others.

    ``nn.LSTM`` and ``nn.GRU`` run oneDNN's fused RNN primitive over the
    whole sequence on a CPU. PyTorch's GRU puts the reset gate after the
    multiply, as the book's GRU does.
    """
    import torch

    torch.manual_seed(0)
    layer = getattr(torch.nn, TORCH_LAYERS[spec.kind])(
        data.IMAGE_SIZE, spec.num_units, spec.num_layers, batch_first=True
    )
    head = torch.nn.Linear(spec.num_units, data.NUM_CLASSES)
    optimizer = torch.optim.Adam([*layer.parameters(), *head.parameters()], lr=1e-3)
    loss = torch.nn.CrossEntropyLoss()

    def train(images, labels):
        images, labels = torch.from_numpy(images), torch.from_numpy(labels).long()
        for start in range(0, len(images), spec.batch_size):
            batch = slice(start, start + spec.batch_size)
            optimizer.zero_grad()
            outputs, _ = layer(images[batch])
            loss(head(outputs[:, -1]), labels[batch]).backward()
            optimizer.step()

    return train


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
    On an Ampere or later GPU the multiplies run in TF32
    (`rnnbook.devices.matmul_precision`, which `write` records).
    """
    devices.use_memory_growth()
    return matmul_gflops(1024, 1024, repeats=50, fastest=True)


# The order in which a spec's candidates are set up: the slowest to trace and compile
# first, so that the longest warm-up starts at once and the others fill in beside it.
SET_UP_ORDER = (
    "unroll+jit",
    "bf16",
    "unroll",
    "concat+hoist",
    "concat",
    "projected",
    "jit",
    "keras",
    "fused",
    "torch",
    "tf1",
)


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


def measure(
    specs, candidates, num_images=IMAGES, rounds=ROUNDS, seed=0, start_worker=None
):
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
    at_once = warm_ups_at_once()
    while waiting or busy:
        while waiting and len(busy) < at_once:
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


def warm_ups_at_once():
    """How many candidates warm up side by side: one per core, or one on a GPU.

    Warm-ups are mostly single-threaded tracing and compiling, so a core
    each; a GPU is one device that every worker shares.
    """
    return 1 if devices.has_gpu() else (os.cpu_count() or 1)


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
    devices.use_memory_growth()  # the workers share a GPU, if there is one
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


def ratios(timings, baseline="tf1"):
    """Each candidate's speed over `baseline`'s, per model, by every statistic.

    A frame indexed by (model, candidate) with a column per name of
    `RATIO_STATISTICS`: "fastest" divides the fastest passes, "paired" is
    the median over the rounds of the ratio within each round, "median"
    divides the medians. Models without a `baseline` row are left out.
    """
    rows = []
    for model, passes in timings.groupby("model", sort=False):
        speeds = passes.pivot_table(
            index="round", columns="candidate", values="images_per_second"
        )
        if baseline not in speeds:
            continue
        base = speeds[baseline]
        for candidate in passes["candidate"].unique():
            speed = speeds[candidate]
            rows.append(
                {
                    "model": model,
                    "candidate": candidate,
                    "fastest": speed.max() / base.max(),
                    "paired": (speed / base).median(),
                    "median": speed.median() / base.median(),
                }
            )
    columns = ["model", "candidate", *RATIO_STATISTICS]
    return pd.DataFrame(rows, columns=columns).set_index(["model", "candidate"])


def summarize(timings, specs, peak_gflops=None, baselines=("tf1", "torch")):
    """`measure`'s rows per model and candidate: speeds, slow passes, ratios, FLOP/s.

    ``fastest`` and ``median`` are images per second over the passes;
    ``slow_passes`` of ``passes`` ran below `SLOW_MODE_SHARE` of the fastest;
    ``vs_<baseline>`` is the `RATIO_STATISTIC` ratio to each of `baselines`
    timed in the run (NaN where it was not); ``gflops`` is achieved at the
    fastest pass and, with `peak_gflops`, ``peak_fraction`` its share of that
    peak.
    """
    speeds = timings.groupby(["model", "candidate"], sort=False)["images_per_second"]
    table = pd.DataFrame(
        {
            "fastest": speeds.max(),
            "median": speeds.median(),
            "slow_passes": speeds.agg(
                lambda passes: int((passes < SLOW_MODE_SHARE * passes.max()).sum())
            ),
            "passes": speeds.size(),
        }
    )
    for baseline in baselines:  # missing (NaN) where the baseline did not run
        table[f"vs_{baseline}"] = ratios(timings, baseline)[RATIO_STATISTIC]
    flops = {spec.name: spec.flops_per_image() for spec in specs}
    table["gflops"] = (
        table["fastest"] * table.index.get_level_values("model").map(flops) / 1e9
    )
    if peak_gflops:
        table["peak_fraction"] = table["gflops"] / peak_gflops
    return table


def ratios_by_run(paths, baseline="tf1", profile="full"):
    """Every ratio to `baseline` in each saved run, by statistic: a long frame.

    One row per run, model, candidate and statistic of `RATIO_STATISTICS`,
    with the run's file name (``run``) and ``book_path``, whether the
    candidate is the one the chapters train the model with in `profile`
    (`book_path`).
    The spread of a ratio over separate runs (chapter 8) shows which
    statistic holds from run to run on this machine.
    """
    frames = []
    for path in map(pathlib.Path, paths):
        _, timings, _ = read(path)
        frame = ratios(timings, baseline).stack().rename("ratio").reset_index()
        frame = frame.rename(columns={"level_2": "statistic"}).assign(run=path.stem)
        batch_sizes = timings.groupby("model")["batch_size"].first()
        paths_ = {
            model: book_path(_spec_named(model, batch_sizes[model]), profile)
            for model in batch_sizes.index
        }
        frame["book_path"] = frame["candidate"] == frame["model"].map(paths_)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _spec_named(name, batch_size):
    """The `Spec` whose `Spec.name` is `name` ("lstm 3x150"), at `batch_size`."""
    kind, size = name.split(" ")
    num_layers, num_units = map(int, size.split("x"))
    return Spec(kind, num_units, num_layers, int(batch_size))


def run(
    specs=MODELS,
    candidates=CANDIDATES,
    num_images=IMAGES,
    rounds=ROUNDS,
    seed=0,
    peak=None,
):
    """Time the peak, the candidates and the peak again: table, timings, peak.

    A peak timed once is as exposed to the machine's slow mode as any pass,
    so it is timed before and after the candidates and the faster kept.
    Pass the `peak` of a `matmul_peak` measured earlier in the same session
    as the one before.
    """
    before = matmul_peak() if peak is None else peak
    timings = measure(
        specs, candidates, num_images=num_images, rounds=rounds, seed=seed
    )
    peak = max(before, matmul_peak())
    return summarize(timings, specs, peak_gflops=peak), timings, peak


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m rnnbook.bench", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--images",
        type=int,
        default=IMAGES,
        help=f"timed images per candidate, over all rounds (default {IMAGES:,})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=ROUNDS,
        help=f"timed passes per candidate (default {ROUNDS})",
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
        table, timings, peak = run(
            specs,
            args.candidates,
            num_images=args.images,
            rounds=args.rounds,
            peak=peak,
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
        "peak_precision": devices.matmul_precision(),
        "ratio_statistic": RATIO_STATISTIC,
        "slow_mode_share": SLOW_MODE_SHARE,
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
