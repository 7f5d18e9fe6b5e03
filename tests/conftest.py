"""Test settings: every test, and every notebook nbval executes, runs the smoke profile.

nbval starts each notebook's kernel with this process's environment, so the
variables set here at import time reach the chapters too.
"""

import os
import pathlib

import pytest

os.environ["RNNBOOK_PROFILE"] = "smoke"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # no CUDA probing noise in saved outputs
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def mnist_folder():
    """The folder of the four original MNIST files that RNNBOOK_MNIST names."""
    folder = os.environ.get("RNNBOOK_MNIST")
    if not folder:
        pytest.skip("RNNBOOK_MNIST is not set: these tests need the original MNIST files")
    return pathlib.Path(folder)
