"""What this machine offers the training path: a GPU, bfloat16, its processor's flags.

The book's fastest path depends on the device (chapter 8, "What to use on a
GPU"). On a CPU it unrolls the 28 steps and lets XLA compile small batches;
on a GPU both would keep Keras from its fused cuDNN kernels, which need
``unroll=False`` and no XLA. `rnnbook.models` and `rnnbook.training` ask
`has_gpu` which path to take; the benchmark asks `bfloat16_supported`
whether its bfloat16 candidate can run, and `matmul_precision` what its
matrix-multiply peak measures.
"""

import pathlib
import re

import tensorflow as tf

__all__ = [
    "BFLOAT16_CPU_FLAGS",
    "gpus",
    "has_gpu",
    "cpu_flags",
    "bfloat16_supported",
    "use_memory_growth",
    "matmul_precision",
]

# Processor flags (as Linux names them in /proc/cpuinfo) of the instructions that
# compute in bfloat16: AVX-512 BF16 and AMX's tile multiplies. Without them,
# TensorFlow emulates bfloat16 in float32 and gains nothing.
BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")

# GPUs of compute capability 8.0 (Ampere) and later multiply float32 matrices in
# TF32 (10-bit mantissa) when TensorFlow allows it, which it does by default.
TF32_COMPUTE_CAPABILITY = (8, 0)


def gpus():
    """The GPUs TensorFlow sees (physical devices)."""
    return tf.config.list_physical_devices("GPU")


def has_gpu():
    """Whether TensorFlow sees a GPU, which then trains the book's models."""
    return bool(gpus())


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The processor's feature flags, as the set Linux lists (empty elsewhere)."""
    path = pathlib.Path(cpuinfo)
    if not path.is_file():
        return set()
    match = re.search(r"^flags\s*:\s*(.+)$", path.read_text(), re.MULTILINE)
    return set(match.group(1).split()) if match else set()


def bfloat16_supported(flags=None):
    """Whether the CPU computes bfloat16 natively (`BFLOAT16_CPU_FLAGS`).

    `flags` defaults to this machine's (`cpu_flags`). A GPU does not count:
    the benchmark's bfloat16 candidate is a CPU candidate.
    """
    flags = cpu_flags() if flags is None else set(flags)
    return any(flag in flags for flag in BFLOAT16_CPU_FLAGS)


def use_memory_growth():
    """Let TensorFlow take GPU memory as it needs it, not all of it at start.

    Several processes can then share one GPU, as the benchmark's workers do.
    It must run before TensorFlow first uses the GPU; after that it is too
    late for this process, and the GPU is left as it is.
    """
    for gpu in gpus():
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialized: it keeps its setting
            pass


def matmul_precision():
    """What a float32 matrix multiply computes in here: "float32" or "TF32".

    On a CPU, and on GPUs before Ampere, float32; on an Ampere or later GPU,
    TF32 unless ``tf.config.experimental.enable_tensor_float_32_execution(False)``.
    """
    if not tf.config.experimental.tensor_float_32_execution_enabled():
        return "float32"
    for gpu in gpus():
        details = tf.config.experimental.get_device_details(gpu)
        if tuple(details.get("compute_capability", (0, 0))) >= TF32_COMPUTE_CAPABILITY:
            return "TF32"
    return "float32"
