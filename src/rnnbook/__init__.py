"""rnnbook: the helpers every chapter of the book imports.

Modules, in the order data flows through them: `config` (run profiles),
`devices` (a GPU, bfloat16: what the training path can use), `data` (MNIST
as row sequences), `reference` (the cell equations in NumPy),
`cells` (the peephole LSTM cell Keras lacks), `fused` (faster layers for the
CPU), `legacy` (TF1's cells and training graph, the oracle and baseline),
`models` (builders and model specs), `training` (recipes; train, evaluate
and time), `runs` (the run registry: every training run trained once,
recorded and shown from its record), `results` (the book's headline table),
`distribute` (tf.distribute: replicas on a split CPU, and worker processes),
`cluster` (a cluster of worker processes on this machine), `bench` (the speed
benchmark) and `plots`. Import them by name, e.g. ``from rnnbook import config, data``;
importing the package itself loads nothing heavy.

Widths have two names, as in Keras. A layer, or a function that returns one
layer (`models.peephole_lstm`), takes ``units``, like ``keras.layers.LSTM``,
so the book's layers are drop-in replacements for Keras's. A builder of a
whole model (`models.single_lstm`, `models.stack`, a `bench.Spec`, a
chapter's settings) takes ``num_units``, the width of each of its recurrent
layers, next to ``num_layers``. tests/test_names.py holds the package to it.
"""

__version__ = "0.1.0"
