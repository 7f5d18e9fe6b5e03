"""Test settings: every test, and every notebook nbval executes, runs the smoke profile.

nbval starts each notebook's kernel with this process's environment, so the
variables set here at import time reach the chapters too.
"""

import os
import pathlib

import numpy as np
import pytest

os.environ["RNNBOOK_PROFILE"] = "smoke"
os.environ.setdefault(
    "TF_CPP_MIN_LOG_LEVEL", "3"
)  # no CUDA probing noise in saved outputs
os.environ.setdefault("MPLBACKEND", "Agg")

from rnnbook import (
    data,
    runs,
)  # noqa: E402 (after the variables TensorFlow reads at import)


@pytest.fixture(scope="session")
def mnist_folder():
    """The folder of the four original MNIST files that RNNBOOK_MNIST names."""
    folder = os.environ.get("RNNBOOK_MNIST")
    if not folder:
        pytest.skip(
            "RNNBOOK_MNIST is not set: these tests need the original MNIST files"
        )
    return pathlib.Path(folder)


@pytest.fixture
def run_with_random_weights():
    """Return ``run(layer, inputs, seed)``: random weights for `layer`, then its
    outputs.

    The weights are big enough (N(0, 0.5)) to saturate some gates, so an
    equivalence check exercises the whole range of the nonlinearities.
    Returns the weights and the layer's outputs as NumPy arrays.
    """

    def run(layer, inputs, seed):
        layer(inputs)  # creates the weights
        rng = np.random.default_rng(seed)
        weights = [
            rng.normal(0.0, 0.5, w.shape).astype(np.float32)
            for w in layer.get_weights()
        ]
        layer.set_weights(weights)
        outputs = layer(inputs)
        if isinstance(outputs, (list, tuple)):
            return weights, tuple(np.asarray(t) for t in outputs)
        return weights, np.asarray(outputs)

    return run


@pytest.fixture
def tiny_splits():
    """60 random "images" split 40 / 10 / 10: enough to train and evaluate in a
    second."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(60, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=60).astype(np.uint8)
    return data.Splits(x[:40], y[:40], x[40:50], y[40:50], x[50:], y[50:])


@pytest.fixture
def book(tmp_path, monkeypatch):
    """An empty book (a folder with _toc.yml) as the working directory, nothing to
    retrain."""
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(runs.RETRAIN_VARIABLE, raising=False)
    return tmp_path
