"""rnnbook: the helpers every chapter of the book imports.

Modules, in the order data flows through them: `config` (run profiles),
`data` (MNIST as row sequences), `reference` (the cell equations in NumPy),
`cells` (the peephole LSTM cell Keras lacks), `fused` (faster layers for the
CPU), `legacy` (TF1's cells and training graph, the oracle and baseline),
`models` (builders and model specs), `training` (recipes; train, evaluate
and time), `runs` (the run registry: every training run trained once,
recorded and shown from its record), `results` (the book's headline table),
`distribute` (tf.distribute on a split CPU), `bench` (the speed benchmark)
and `plots`. Import them by name, e.g. ``from rnnbook import config, data``;
importing the package itself loads nothing heavy.
"""

__version__ = "0.1.0"
