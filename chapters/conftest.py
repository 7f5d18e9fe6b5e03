"""nbval runs the chapters in the smoke profile, also when pytest is given only them.

``pytest chapters/03_single_lstm.ipynb`` does not load tests/conftest.py, which
sets the same for a whole run; without this, the chapter would run in the full
profile (the default), train for an hour and overwrite ``results/full``. nbval
starts each notebook's kernel with this process's environment.
"""

import os

os.environ["RNNBOOK_PROFILE"] = "smoke"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # no CUDA probing in outputs
os.environ.setdefault("MPLBACKEND", "Agg")
