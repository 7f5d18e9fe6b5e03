import json

import numpy as np
import pandas as pd
import pytest

from rnnbook import bench

TINY = [bench.Spec("lstm", 4, 2, 8), bench.Spec("gru", 3, 1, 8)]


def test_flops_count_the_matrix_multiplies():
    # Forward once, backward twice, but no gradient for the images.
    lstm = bench.Spec("lstm", 100, 1, 50)
    forward = 28 * 2 * (28 + 100) * 4 * 100 + 2 * 100 * 10
    assert lstm.flops_per_image() == 3 * forward - 28 * 2 * 28 * 4 * 100
    stack = bench.Spec("gru", 150, 3, 150)
    forward = 28 * 2 * 3 * 150 * ((28 + 150) + 2 * (150 + 150)) + 2 * 150 * 10
    assert stack.flops_per_image() == 3 * forward - 28 * 2 * 28 * 3 * 150


@pytest.mark.parametrize(
    "spec", [bench.Spec(kind, 5, 2, 4) for kind in ("lstm", "peephole_lstm", "gru")]
)
def test_every_candidate_trains_the_same_model(spec):
    keras_model = bench.keras_model(spec, unroll=False)
    assert [layer.unroll for layer in keras_model.layers[:-1]] == [False, False]
    assert all(
        layer.unroll for layer in bench.keras_model(spec, unroll=True).layers[:-1]
    )
    tf1_convention = (  # the GRU's concat layers: one bias, not two
        bench.models.stack("gru", 5, 2, reset_after=False)
        if spec.kind == "gru"
        else keras_model
    )
    for candidate in ("fused", "projected", "concat", "concat+hoist"):
        if bench.applies(spec, candidate):
            same = tf1_convention if "concat" in candidate else keras_model
            assert (
                bench.custom_model(spec, candidate).count_params()
                == same.count_params()
            )


def test_concat_hoist_joins_the_first_layer_and_hoists_the_others():
    model = bench.custom_model(bench.Spec("gru", 5, 3, 4), "concat+hoist")
    assert [type(layer).__name__ for layer in model.layers[:-1]] == [
        "ConcatGRU",
        "ProjectedGRU",
        "ProjectedGRU",
    ]
    assert not any(layer.reset_after for layer in model.layers[:-1])
    assert not bench.applies(bench.Spec("gru", 5, 1, 4), "concat+hoist")


# The candidates that build a kind's own layers run for every kind; those that take
# the Keras layer through `models.stack` (tested there for every kind) for one.
OWN_LAYERS = ("fused", "projected", "concat", "concat+hoist", "torch", "tf1")
BUILDS = [
    (kind, candidate)
    for candidate in bench.CANDIDATES
    for kind in (
        sorted(bench.models.RECURRENT_LAYERS) if candidate in OWN_LAYERS else ["gru"]
    )
]


@pytest.mark.parametrize("kind, candidate", BUILDS)
def test_every_candidate_that_applies_can_be_built(kind, candidate, monkeypatch):
    if candidate == "bf16":  # emulated on a CPU without it: builds and trains, slowly
        monkeypatch.setattr(bench.devices, "cpu_flags", lambda: {"amx_bf16"})
    spec = bench.Spec(kind, 4, 2 if candidate == "concat+hoist" else 1, 2)
    if not bench.applies(spec, candidate):
        pytest.skip(f"{candidate} does not apply to {kind} on this machine")
    train, close = bench.trainer(spec, candidate)
    try:
        train(np.zeros((2, 28, 28), np.float32), np.zeros(2, np.int64))
        if candidate == "bf16":
            assert bench.keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    finally:
        close()
        bench.keras.mixed_precision.set_global_policy("float32")


def test_bench_models_are_the_book_budgets():
    single, stacked = (
        bench.config.get_profile("full").chapter("03_single_lstm"),
        bench.config.get_profile("full").chapter("04_stacked_lstms"),
    )
    assert bench.Spec("lstm", single.num_units, 1, single.batch_size) in bench.MODELS
    assert (
        bench.Spec("gru", stacked.num_units, stacked.num_layers, stacked.batch_size)
        in bench.MODELS
    )


@pytest.mark.parametrize("name", sorted(bench.config.PROFILES))
def test_the_models_chapter_7_names_exist(name):
    names = bench.config.get_profile(name).chapter("08_training_speed").models
    assert [spec.name for spec in bench.models_named(names)] == list(names)


def test_an_unknown_model_name_is_an_error():
    with pytest.raises(
        ValueError,
        match=r"Unknown model\(s\) \['lstm 1x1000'\]; the benchmark's models are",
    ):
        bench.models_named(["lstm 1x100", "lstm 1x1000"])
    with pytest.raises(ValueError, match="Unknown kind of layer 'lstn'"):
        bench.Spec("lstn", 100, 1, 50)
    with pytest.raises(ValueError, match="num_layers must be a positive integer"):
        bench.Spec("lstm", 100, 0, 50)


class BreaksTF1(bench.Worker):
    """A worker that asks its process to set up a candidate that does not exist
    instead of "tf1"."""

    def send(self, command, *args):
        if command == "set_up" and args[1] == "tf1":
            args = (args[0], "tf2", *args[2:])
        super().send(command, *args)


def test_a_failing_candidate_keeps_the_other_rows():
    specs = [bench.Spec("lstm", 4, 1, 8), bench.Spec("gru", 3, 1, 8)]
    with pytest.raises(
        bench.BenchmarkError, match=r"2 candidate\(s\) failed"
    ) as caught:
        bench.measure(
            specs, ["keras", "tf1"], num_images=16, rounds=2, start_worker=BreaksTF1
        )
    timings = caught.value.timings
    assert (
        set(timings["candidate"]) == {"keras"} and len(timings) == 2 * 2
    )  # both specs, both rounds
    assert [failure[:2] for failure in caught.value.failures] == [
        ("lstm 1x4", "tf1"),
        ("gru 1x3", "tf1"),
    ]
    assert "Unknown candidate 'tf2'" in caught.value.failures[0][2]


def test_worker_close_kills_and_reaps_a_busy_process():
    worker = bench.Worker()
    worker.send(
        "set_up",
        bench.Spec("lstm", 1000, 3, 500),
        "unroll+jit",
        np.zeros((500, 28, 28), np.float32),
        np.zeros(500, np.int64),
        [500],
    )
    worker.close(timeout=0.5)  # long before the set-up could end
    assert worker._process.exitcode is not None  # killed and reaped, not left a zombie


def test_a_worker_keeps_its_log_out_of_the_notebook_and_quotes_it_when_it_dies(
    capfd,
):
    worker = bench.Worker()
    try:
        worker._process.kill()
        with pytest.raises(bench.WorkerError, match="died.*end of its standard error"):
            worker.receive()
    finally:
        worker.close()
    worker = bench.Worker()
    try:
        worker.send("time", 1)  # fails: nothing set up
        with pytest.raises(bench.WorkerError):
            worker.receive()
        assert "cuda" in worker.log().lower()  # TensorFlow's start-up log
    finally:
        worker.close()
    assert "cuda" not in capfd.readouterr().err.lower()


def test_each_kind_gets_one_custom_path():
    gru, lstm = bench.Spec("gru", 5, 1, 4), bench.Spec("peephole_lstm", 5, 1, 4)
    assert not bench.applies(gru, "fused") and bench.applies(gru, "projected")
    assert bench.applies(lstm, "fused") and not bench.applies(lstm, "projected")
    with pytest.raises(ValueError, match="No 'fused' layer for 'gru'"):
        bench.custom_model(gru, "fused")


def test_book_path_follows_the_speed_options():
    assert bench.book_path(bench.Spec("lstm", 100, 1, 50)) == "unroll+jit"
    assert bench.book_path(bench.Spec("gru", 150, 3, 150)) == "unroll+jit"
    assert bench.book_path(bench.Spec("peephole_lstm", 150, 3, 150)) == "unroll"
    assert (
        bench.book_path(bench.Spec("lstm", 150, 1, 150)) == "unroll"
    )  # chapter 4's one-layer point


def test_measure_alternates_every_candidate_in_every_round():
    timings = bench.measure(
        TINY, ["keras", "fused", "projected", "tf1"], num_images=20, rounds=2
    )

    assert len(timings) == (3 + 3) * 2  # the LSTM gets "fused", the GRU "projected"
    assert timings.groupby(["model", "round"])["candidate"].nunique().to_dict() == {
        ("lstm 2x4", 0): 3,
        ("lstm 2x4", 1): 3,
        ("gru 1x3", 0): 3,
        ("gru 1x3", 1): 3,
    }
    assert (
        timings["images"] == 16
    ).all()  # 20 over 2 rounds: 10, rounded up to whole batches of 8
    assert (timings["images_per_second"] > 0).all()

    table = bench.summarize(timings, TINY, peak_gflops=100.0)
    np.testing.assert_allclose(table.xs("tf1", level="candidate")["vs_tf1"], 1.0)
    assert (table["median"] <= table["fastest"]).all()
    assert (table["passes"] == 2).all()
    assert (table["peak_fraction"] == table["gflops"] / 100.0).all()


def passes(speeds):
    """`measure`'s rows for one model: {candidate: images per second per round}."""
    return pd.DataFrame(
        [
            {
                "model": "lstm 1x4",
                "batch_size": 8,
                "candidate": candidate,
                "round": round_,
                "images_per_second": speed,
            }
            for candidate, per_round in speeds.items()
            for round_, speed in enumerate(per_round)
        ]
    )


def test_each_ratio_statistic_is_what_it_says():
    # Round 1 caught the TF1 pass in the slow mode, round 2 the candidate's.
    timings = passes({"tf1": [100, 50, 100, 110], "unroll": [120, 120, 60, 120]})
    ratios = bench.ratios(timings).loc[("lstm 1x4", "unroll")]
    assert ratios["fastest"] == pytest.approx(120 / 110)
    assert ratios["paired"] == pytest.approx(np.median([1.2, 2.4, 0.6, 120 / 110]))
    assert ratios["median"] == pytest.approx(120 / 100)
    assert list(bench.ratios(timings).columns) == list(bench.RATIO_STATISTICS)
    assert bench.ratios(timings, baseline="torch").empty  # no such row


def test_passes_in_the_slow_mode_are_counted():
    timings = passes({"tf1": [100, 50, 100, 74], "unroll": [120, 120, 100, 119]})
    spec = bench.Spec("lstm", 4, 1, 8)
    table = bench.summarize(timings, [spec]).xs("lstm 1x4", level="model")
    assert table["slow_passes"].to_dict() == {"tf1": 2, "unroll": 0}
    assert table["fastest"].to_dict() == {"tf1": 100, "unroll": 120}
    assert table.loc["unroll", "vs_tf1"] == pytest.approx(
        bench.ratios(timings).loc[("lstm 1x4", "unroll"), bench.RATIO_STATISTIC]
    )
    assert table["vs_torch"].isna().all()  # PyTorch did not run


def test_bf16_applies_only_where_the_cpu_computes_it(monkeypatch):
    spec = bench.Spec("lstm", 4, 1, 8)
    monkeypatch.setattr(bench.devices, "cpu_flags", lambda: {"avx2", "fma"})
    assert not bench.applies(spec, "bf16")
    monkeypatch.setattr(bench.devices, "cpu_flags", lambda: {"avx512f", "amx_bf16"})
    assert bench.applies(spec, "bf16")


def test_torch_is_a_candidate_only_where_it_is_installed(monkeypatch):
    lstm, peepholes = bench.Spec("lstm", 4, 1, 8), bench.Spec("peephole_lstm", 4, 1, 8)
    monkeypatch.setattr(bench, "torch_installed", lambda: False)
    assert not bench.applies(lstm, "torch")
    monkeypatch.setattr(bench, "torch_installed", lambda: True)
    assert bench.applies(lstm, "torch") and not bench.applies(peepholes, "torch")


def test_warm_ups_go_one_at_a_time_on_a_gpu(monkeypatch):
    assert bench.warm_ups_at_once() == bench.os.cpu_count()
    monkeypatch.setattr(bench.devices, "has_gpu", lambda: True)
    assert bench.warm_ups_at_once() == 1


def test_every_candidate_has_a_place_in_the_set_up_order():
    assert sorted(bench.SET_UP_ORDER) == sorted(bench.CANDIDATES)


def test_a_failure_in_a_worker_is_raised_with_its_traceback():
    images, labels = np.zeros((8, 28, 28), "float32"), np.zeros(8, "int64")
    worker = bench.Worker()
    try:
        worker.send("set_up", bench.Spec("gru", 3, 1, 8), "fused", images, labels, [8])
        with pytest.raises(
            RuntimeError,
            match="worker process failed(.|\\n)*No 'fused' layer for 'gru'",
        ):
            worker.receive()
    finally:
        worker.close()


def test_measure_rejects_an_unknown_candidate_before_starting_anything():
    with pytest.raises(ValueError, match=r"Unknown candidate\(s\) \['cudnn'\]"):
        bench.measure(TINY, ["keras", "cudnn"])


def test_unknown_candidate_is_a_clear_error():
    with pytest.raises(ValueError, match="Unknown candidate 'cudnn'"):
        bench.trainer(TINY[0], "cudnn")


def test_matmul_speed_is_positive_for_small_and_large_multiplies():
    assert bench.matmul_gflops(64, 64, repeats=2) > 0
    assert bench.matmul_gflops(256, 256, repeats=2) > 0


def test_the_fastest_repeat_is_at_least_the_median(monkeypatch):
    clock = iter(
        np.cumsum([0, 1, 0, 3, 0, 2] * 2)
    )  # warm-up excluded: repeats of 1, 3 and 2 s
    monkeypatch.setattr(bench.time, "perf_counter", lambda: float(next(clock)))
    median = bench.matmul_gflops(64, 64, repeats=3)
    fastest = bench.matmul_gflops(64, 64, repeats=3, fastest=True)
    assert fastest == pytest.approx(2 * median)  # 1 s against the median 2 s


def test_run_keeps_the_faster_of_the_peaks_before_and_after(monkeypatch):
    """A peak timed in the machine's slow mode would inflate every share of it."""
    timings = pd.DataFrame()
    monkeypatch.setattr(bench, "measure", lambda *args, **kwargs: timings)
    monkeypatch.setattr(bench, "summarize", lambda timings, specs, peak_gflops: None)
    peaks = iter([40.0, 80.0])
    monkeypatch.setattr(bench, "matmul_peak", lambda: next(peaks))
    assert bench.run(TINY, ["keras"])[2] == 80.0  # slow before, fast after
    monkeypatch.setattr(bench, "matmul_peak", lambda: 40.0)
    assert bench.run(TINY, ["keras"], peak=80.0)[2] == 80.0  # given, then slow


def test_command_line_writes_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(bench, "matmul_peak", lambda: 100.0)  # timed in its own test
    output = tmp_path / "bench.json"
    bench.main(
        [
            "--models",
            "lstm 1x100",
            "--candidates",
            "unroll",
            "tf1",
            "--images",
            "50",
            "--rounds",
            "1",
            "--output",
            str(output),
        ]
    )

    record = json.loads(output.read_text())
    assert {row["candidate"] for row in record["summary"]} == {"unroll", "tf1"}
    assert "lstm 1x100" in capsys.readouterr().out
    assert record["peak_precision"] == "float32"
    assert record["ratio_statistic"] == bench.RATIO_STATISTIC
    table, timings, peak = bench.read(output)
    assert table.loc[("lstm 1x100", "tf1"), "vs_tf1"] == pytest.approx(1.0)
    assert len(timings) == 2 and peak == 100.0


@pytest.mark.parametrize("argv", [["--models", "lstm 9x9"], ["--rounds", "0"]])
def test_command_line_rejects_bad_arguments(argv):
    with pytest.raises(SystemExit):
        bench.main(argv)


def test_a_spec_has_a_key_and_a_title_for_readers():
    spec = bench.Spec("peephole_lstm", 150, 3, 150)
    assert spec.name == "peephole_lstm 3x150"
    assert spec.title == "LSTM with peepholes 3x150"


def test_ratios_by_run_reads_every_saved_run_and_marks_the_book_path(tmp_path):
    spec = bench.Spec("lstm", 4, 1, 8)
    paths = []
    for run, unroll in enumerate(([120, 60], [100, 110])):
        timings = passes({"tf1": [100, 100], "unroll": unroll, "concat": [90, 95]})
        table = bench.summarize(timings, [spec])
        paths.append(bench.write(tmp_path / f"run-{run}.json", table, timings, 1, 1))
    frame = bench.ratios_by_run(paths, profile="smoke")  # no XLA: "unroll"
    fastest = frame[frame["statistic"] == "fastest"].set_index(["run", "candidate"])
    assert fastest.loc[("run-0", "unroll"), "ratio"] == pytest.approx(1.2)
    assert fastest.loc[("run-1", "unroll"), "ratio"] == pytest.approx(1.1)
    assert fastest["book_path"].to_dict() == {
        (run, candidate): candidate == "unroll"
        for run in ("run-0", "run-1")
        for candidate in ("tf1", "unroll", "concat")
    }
    assert len(frame) == 2 * 3 * len(bench.RATIO_STATISTICS)
