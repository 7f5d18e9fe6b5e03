"""The package, the tests and the chapters' code keep one line length and format.

The rules live in pyproject.toml (``[tool.ruff]``): 88 characters, pyflakes'
checks, and ``ruff format``'s layout. A failure lists the lines; ``ruff
format`` fixes the layout, long strings and comments need a hand.
"""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).parent.parent
PATHS = ["src", "tests", "chapters"]


@pytest.mark.parametrize(
    "command", [["check"], ["format", "--check", "--diff"]], ids=["check", "format"]
)
def test_the_code_keeps_its_line_length_and_format(command):
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *command, *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_linter_catches_a_long_line(tmp_path):
    long_line = tmp_path / "long.py"
    long_line.write_text(f"x = {'1 + ' * 30}1\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--config",
            ROOT / "pyproject.toml",
            long_line,
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "E501" in done.stdout
