"""rnnbook: the helpers every chapter of the book imports.

Modules, in the order data flows through them: `config` (run profiles),
`data` (MNIST as row sequences). Import them by name, e.g.
``from rnnbook import config, data``; importing the package itself loads
nothing heavy.
"""

__version__ = "0.1.0"
