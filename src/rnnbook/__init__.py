"""rnnbook: the helpers every chapter of the book imports.

Modules, in the order data flows through them: `config` (run profiles),
`data` (MNIST as row sequences), `reference` (the cell equations in NumPy),
`cells` (the peephole LSTM cell Keras lacks), `legacy` (TF1's cells, the
oracle), `models` (builders), `training` (train, time, save results) and
`plots`. Import them by name, e.g. ``from rnnbook import config, data``;
importing the package itself loads nothing heavy.
"""

__version__ = "0.1.0"
