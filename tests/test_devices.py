"""The path follows the device: cuDNN-eligible layers and no XLA on a GPU.

There is no GPU here, so the tests fake TensorFlow's device list; the real
list is what `rnnbook.devices.gpus` returns.
"""

import keras
import pytest
import tensorflow as tf

from rnnbook import devices, models, runs, training

FAKE_GPU = tf.config.PhysicalDevice("/physical_device:GPU:0", "GPU")


@pytest.fixture
def on_a_gpu(monkeypatch):
    """TensorFlow's device list with one GPU in it."""
    listed = tf.config.list_physical_devices

    def fake(device_type=None):
        return [FAKE_GPU] if device_type == "GPU" else listed(device_type)

    monkeypatch.setattr(tf.config, "list_physical_devices", fake)


def test_this_machine_has_no_gpu_and_takes_the_cpu_path():
    assert not devices.has_gpu()
    assert training.speed_options(50, profile="full")["jit_compile"]
    assert models.unroll_default()
    assert all(layer.unroll for layer in models.stack("lstm", 4, 2).layers[:-1])


def test_on_a_gpu_the_layers_are_cudnn_eligible_and_xla_is_off(on_a_gpu):
    assert devices.has_gpu()
    assert training.speed_options(50, profile="full") == {
        "steps_per_execution": training.STEPS_PER_EXECUTION,
        "jit_compile": False,
    }
    for kind in ("lstm", "gru"):
        layers = models.stack(kind, 4, 2).layers[:-1]
        assert not any(layer.unroll for layer in layers)
        # Keras's conditions for its cuDNN kernel, other than unroll and XLA:
        assert all(layer.cell.activation is keras.activations.tanh for layer in layers)
        assert all(layer.cell.recurrent_dropout == 0 for layer in layers)
    assert all(layer.cell.reset_after for layer in models.stack("gru", 4, 1).layers[:1])
    assert not models.single_lstm(4).layers[0].unroll
    # Asked explicitly, the CPU's path still unrolls.
    assert models.stack("lstm", 4, 1, unroll=True).layers[0].unroll


def test_a_gpu_still_finds_the_recorded_runs(on_a_gpu):
    """A run's key names the CPU's path, so a reader on a GPU loads the book's runs."""
    recipe = training.Recipe(epochs=1, batch_size=50, learning_rate=1e-3, seed=0)
    assert runs.keras_path(recipe, profile="full") == {
        "unroll": True,
        "steps_per_execution": training.STEPS_PER_EXECUTION,
        "jit_compile": True,
    }
    assert models.Spec.of("stack", kind="lstm", num_units=4).as_dict() == {
        "builder": "stack",
        "kind": "lstm",
        "num_units": 4,
    }


@pytest.mark.parametrize(
    "flags, supported",
    [
        ({"avx2", "fma"}, False),  # the AMD EPYC of some sessions
        ({"avx512f", "avx512_bf16"}, True),
        ({"avx512f", "amx_bf16", "amx_tile"}, True),  # the Xeon with AMX
        (set(), False),
    ],
)
def test_bfloat16_is_detected_from_the_cpu_flags(flags, supported):
    assert devices.bfloat16_supported(flags) is supported


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16\nbugs\t\t:\n")
    assert devices.cpu_flags(cpuinfo) == {"fpu", "avx2", "amx_bf16"}
    assert devices.cpu_flags(tmp_path / "missing") == set()


def test_a_cpu_multiplies_in_float32():
    assert devices.matmul_precision() == "float32"


def test_an_ampere_gpu_multiplies_in_tf32(on_a_gpu, monkeypatch):
    capability = {"compute_capability": (8, 0)}
    monkeypatch.setattr(
        tf.config.experimental, "get_device_details", lambda gpu: capability
    )
    assert devices.matmul_precision() == "TF32"
    capability["compute_capability"] = (7, 5)  # a T4
    assert devices.matmul_precision() == "float32"
