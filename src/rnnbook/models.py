"""Builders for every model the book trains.

Each builder returns an uncompiled ``keras.Model`` that reads a batch of
(28, 28) row sequences and ends in 10 outputs. Compiling (loss, optimizer)
is the chapters' business, because that is where the models differ in what
they teach.
"""

import dataclasses
import inspect

import keras

from rnnbook import cells, data, devices

__all__ = [
    "UNROLL",
    "unroll_default",
    "INPUT_SHAPE",
    "STACK_DEFAULTS",
    "RECURRENT_LAYERS",
    "KIND_NAMES",
    "kind_of",
    "BUILDERS",
    "single_lstm",
    "peephole_lstm",
    "stack",
    "hidden_states",
    "HiddenStates",
    "Spec",
]

# On a CPU the layers run with `unroll=True`: for 28 steps, Keras then builds
# one straight-line graph instead of a `tf.while_loop`, which trains faster
# there (chapter 8 measures it). The arithmetic is the same.
UNROLL = True


def unroll_default(gpu=None):
    """Whether the book's layers unroll here: `UNROLL` on a CPU, False on a GPU.

    On a GPU, Keras runs an LSTM or GRU as one fused cuDNN kernel only when
    ``unroll=False`` (chapter 8, "What to use on a GPU"). `gpu` says whether
    one is in use; None asks TensorFlow (`rnnbook.devices.has_gpu`).
    """
    return UNROLL and not (devices.has_gpu() if gpu is None else gpu)


INPUT_SHAPE = (data.IMAGE_SIZE, data.IMAGE_SIZE)

# The layer options `stack` sets unless told otherwise (they replace the layers'
# defaults). They define the book's models (`Spec`): on a GPU, `stack` builds
# the same model with ``unroll=False`` (`unroll_default`), a speed setting only.
STACK_DEFAULTS = {"unroll": UNROLL}


def single_lstm(num_units, output_activation=None, name="single_lstm"):
    """One LSTM layer of `num_units` read over the rows, then a dense layer (chapter 3).

    As in the TF1 program this replaces, the classifier reads the final hidden
    state h and its dense layer starts from a truncated normal (stddev 0.1)
    with biases 0.1. With ``output_activation=None`` it returns logits; the
    program as written applied ``"softmax"`` here, before a loss that applies
    softmax again.
    """
    num_units = cells.check_units(num_units, "num_units")
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE, name="rows"),
            keras.layers.LSTM(num_units, unroll=unroll_default(), name="lstm"),
            keras.layers.Dense(
                data.NUM_CLASSES,
                activation=output_activation,
                kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.1),
                bias_initializer=keras.initializers.Constant(0.1),
                name="classifier",
            ),
        ],
        name=name,
    )


def peephole_lstm(units, **options):
    """A ``keras.layers.RNN`` of `rnnbook.cells.PeepholeLSTMCell` (chapter 5).

    Takes the options of ``keras.layers.LSTM`` that apply: those of the cell
    (``unit_forget_bias``, the initializers, the activations) go to the cell,
    the others (``return_sequences``, ``unroll``, ``name``, ...) to the layer.
    """
    cell_options = {
        name: options.pop(name) for name in list(options) if name in _CELL_OPTIONS
    }
    return keras.layers.RNN(cells.PeepholeLSTMCell(units, **cell_options), **options)


_CELL_OPTIONS = set(inspect.signature(cells.PeepholeLSTMCell.__init__).parameters) - {
    "self",
    "units",
    "kwargs",
}


RECURRENT_LAYERS = {
    "lstm": keras.layers.LSTM,
    "peephole_lstm": peephole_lstm,
    "gru": keras.layers.GRU,
    "simple_rnn": keras.layers.SimpleRNN,
}


def stack(
    kind,
    num_units,
    num_layers=1,
    name=None,
    blank_rows=0,
    bidirectional=False,
    keep_bias=None,
    **layer_options,
):
    """`num_layers` recurrent layers of `num_units` each, then a dense layer of logits.

    Every layer but the last returns its whole sequence of hidden states,
    which is the next layer's input; the last returns only its final state
    (chapter 4, "What stacking means"). The dense layer has Keras's default
    initial values, as ``tf.layers.dense`` had in the TF1 programs.

    Args:
        kind: The recurrent layer, a key of `RECURRENT_LAYERS`: ``"lstm"``,
            ``"peephole_lstm"`` or ``"gru"``.
        num_units: Positive integer, the width of each recurrent layer.
        num_layers: Positive integer, how many recurrent layers.
        name: The model's name; by default ``"<kind>_<num_layers>x<num_units>"``.
        blank_rows: Rows of zeros the model appends to every image before its
            first recurrent layer reads it (chapter 2, "How long can it
            remember?"): the digit must then be remembered over that many
            more steps before the answer.
        bidirectional: Wrap every recurrent layer in ``keras.layers.Bidirectional``:
            one copy reads the rows top-down, another bottom-up, and their
            states are concatenated (chapter 7, "Reading both ways"); twice the
            recurrent weights.
        keep_bias: For an LSTM or a GRU, the initial bias of the gate that
            keeps the state (`rnnbook.cells.KeepGateBias`), every other bias
            zero; None keeps Keras's start (forget gate 1, update gate 0).
        **layer_options: Passed to every recurrent layer, over `STACK_DEFAULTS`
            (``unroll`` as `unroll_default` says): for example
            ``reset_after=False`` for a GRU, or ``unroll=False`` for a loop
            instead of the book's unrolled steps.

    Returns:
        An uncompiled ``keras.Sequential`` from (batch, 28, 28) rows to
        (batch, 10) logits.

    Example:

    >>> model = stack("lstm", 100, num_layers=2)
    >>> model.name, [layer.name for layer in model.layers]
    ('lstm_2x100', ['lstm_1', 'lstm_2', 'classifier'])
    >>> model.output_shape, model.count_params()
    ((None, 10), 133010)
    """
    if kind not in RECURRENT_LAYERS:
        raise ValueError(
            f"Unknown kind of layer {kind!r}; choose one of"
            f" {', '.join(RECURRENT_LAYERS)}."
        )
    num_units = cells.check_units(num_units, "num_units")
    num_layers = cells.check_units(num_layers, "num_layers")
    if (
        isinstance(blank_rows, bool)
        or not isinstance(blank_rows, int)
        or blank_rows < 0
    ):
        raise ValueError(
            f"blank_rows must be a whole number of rows, 0 or more, got {blank_rows!r}."
        )
    fixed = {"return_sequences", "name"} & set(layer_options)
    if fixed:
        raise ValueError(
            f"stack sets {', '.join(sorted(fixed))} of each layer itself; leave it out"
            " of the options."
        )
    layer = RECURRENT_LAYERS[kind]
    options = {**STACK_DEFAULTS, "unroll": unroll_default(), **layer_options}
    if keep_bias is not None:
        options.update(_keep_bias_options(kind, keep_bias))
    recurrent = [
        layer(
            num_units,
            return_sequences=depth < num_layers - 1,
            name=f"{kind}_{depth + 1}",
            **options,
        )
        for depth in range(num_layers)
    ]
    if bidirectional:
        recurrent = [
            keras.layers.Bidirectional(layer, name=f"bidirectional_{layer.name}")
            for layer in recurrent
        ]
    padding = (
        [keras.layers.ZeroPadding1D((0, blank_rows), name="blank_rows")]
        if blank_rows
        else []
    )
    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE, name="rows"),
            *padding,
            *recurrent,
            keras.layers.Dense(data.NUM_CLASSES, name="classifier"),
        ],
        name=name
        or f"{'bidirectional_' * bidirectional}{kind}_{num_layers}x{num_units}",
    )


# Where the gate that keeps the state sits in each gated layer's bias.
_KEEP_GATES = {"lstm": (1, 4), "gru": (0, 3)}


def _keep_bias_options(kind, value):
    """The layer options that start `kind`'s keeping gate at bias `value`."""
    if kind not in _KEEP_GATES:
        raise ValueError(
            f"keep_bias applies to the gate that keeps an LSTM's or a GRU's state;"
            f" {kind!r} has none of that kind here."
        )
    options = {"bias_initializer": cells.KeepGateBias(value, *_KEEP_GATES[kind])}
    if kind == "lstm":
        options["unit_forget_bias"] = False  # else Keras sets the forget gate to 1
    return options


def hidden_states(model):
    """A `HiddenStates` probe of `model`'s recurrent layers (chapters 4 and 7).

    Args:
        model: A model with recurrent layers, such as `stack` builds.

    Returns:
        A `HiddenStates`: call it on a batch of images, or ask its `predict`
        for many, to get one (batch, time steps, units) array per recurrent
        layer, bottom layer first - always a list.

    Example:

    >>> import numpy as np
    >>> probe = hidden_states(stack("gru", 8, num_layers=2))
    >>> [states.shape for states in probe.predict(np.zeros((3, 28, 28), "float32"))]
    [(3, 28, 8), (3, 28, 8)]
    """
    return HiddenStates(model)


class HiddenStates:
    """Every recurrent layer's hidden state at every step of a trained model.

    Built from `model`'s own weights: each recurrent layer is copied with
    ``return_sequences=True`` so that the last one, too, shows all 28 steps.
    Calling it, or its `predict`, gives a list of one (batch, time steps,
    units) array per recurrent layer, bottom layer first - a list even for a
    single layer (a Keras model with one output would return the bare array).
    """

    def __init__(self, model):
        inputs = keras.Input(INPUT_SHAPE, name="rows")
        states, sequence = [], inputs
        for layer in model.layers[:-1]:  # the last is the classifier
            if not isinstance(layer, keras.layers.RNN):
                sequence = layer(sequence)  # such as the blank rows of `stack`
                continue
            copy = layer.__class__.from_config(
                {**layer.get_config(), "return_sequences": True}
            )
            sequence = copy(sequence)
            copy.set_weights(layer.get_weights())
            states.append(sequence)
        if not states:
            raise ValueError(f"Model {model.name!r} has no recurrent layer.")
        self.model = keras.Model(inputs, states, name=f"{model.name}_hidden_states")

    def __call__(self, images):
        """The hidden states for a batch of `images`, as tensors."""
        return _as_list(self.model(images))

    def predict(self, images, batch_size=500):
        """The hidden states for `images`, in batches of `batch_size`, as NumPy."""
        return _as_list(self.model.predict(images, batch_size=batch_size, verbose=0))


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


# What the book calls each kind of recurrent layer.
KIND_NAMES = {
    "lstm": "LSTM",
    "peephole_lstm": "LSTM with peepholes",
    "gru": "GRU",
    "simple_rnn": "SimpleRNN",
}

# The cell inside each kind's layer, by which `kind_of` tells the kinds apart.
_CELLS = {
    "lstm": keras.layers.LSTMCell,
    "peephole_lstm": cells.PeepholeLSTMCell,
    "gru": keras.layers.GRUCell,
    "simple_rnn": keras.layers.SimpleRNNCell,
}


def kind_of(model):
    """The kind of recurrent layer in `model`: a key of `RECURRENT_LAYERS`, or None.

    Looks at the cell of every ``keras.layers.RNN`` in the model, nested
    models and ``Bidirectional`` wrappers included. None when the model has
    no recurrent layer, or layers of more than one kind. `rnnbook.training`
    compiles by it (`rnnbook.training.speed_options`).

    >>> kind_of(stack("gru", 8, num_layers=2))
    'gru'
    """
    kinds = {
        kind
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.RNN)
        for kind, cell in _CELLS.items()
        if isinstance(layer.cell, cell)
    }
    return kinds.pop() if len(kinds) == 1 else None


BUILDERS = {"stack": stack, "single_lstm": single_lstm}


@dataclasses.dataclass(frozen=True)
class Spec:
    """A model the book trains: the builder that makes it and the builder's arguments.

    Plain data (a builder name and sorted argument pairs), so that
    `rnnbook.runs` can name a training run by it and write it to JSON.

    >>> spec = Spec.of("stack", kind="gru", num_units=100, reset_after=False)
    >>> spec.describe()
    'GRU 1x100, reset_after=False'
    """

    builder: str
    arguments: tuple

    @classmethod
    def of(cls, builder, **arguments):
        """The spec of ``BUILDERS[builder](**arguments)``, without defaults.

        ``Spec.of("stack", kind="lstm", num_units=100, num_layers=1)`` and
        ``Spec.of("stack", kind="lstm", num_units=100)`` build the same model,
        so they are the same spec (and the same run in `rnnbook.runs`): an
        argument equal to its default, the builder's or the layer's, is left out.
        """
        if builder not in BUILDERS:
            raise ValueError(
                f"Unknown builder {builder!r}; choose one of {', '.join(BUILDERS)}."
            )
        defaults = _defaults(builder, arguments.get("kind"))
        kept = {
            name: value
            for name, value in arguments.items()
            if not (name in defaults and defaults[name] == value)
        }
        return cls(builder, tuple(sorted(kept.items())))

    def as_dict(self):
        return {"builder": self.builder, **dict(self.arguments)}

    def build(self):
        """A new, untrained model (seed first for reproducible initial weights)."""
        return BUILDERS[self.builder](**dict(self.arguments))

    def describe(self):
        """The model in words, as the book's tables name it."""
        arguments = dict(self.arguments)
        if self.builder == "single_lstm":
            output = ", softmax output" if arguments.get("output_activation") else ""
            return f"LSTM 1x{arguments['num_units']}, TF1 classifier{output}"
        kind = arguments.pop("kind")
        both_ways = "Bidirectional " if arguments.pop("bidirectional", False) else ""
        size = f"{arguments.pop('num_layers', 1)}x{arguments.pop('num_units')}"
        options = "".join(
            f", {name}={value}" for name, value in sorted(arguments.items())
        )
        return f"{both_ways}{KIND_NAMES[kind]} {size}{options}"


def _defaults(builder, kind=None):
    """The default of every argument of `BUILDERS[builder]` and its layer's options.

    For `stack`, its own `STACK_DEFAULTS` come first: they are what a layer
    gets when the option is left out, whatever the layer's default.
    """
    functions = [BUILDERS[builder]]
    defaults = {}
    if builder == "stack" and kind in RECURRENT_LAYERS:
        defaults.update(STACK_DEFAULTS)
        layer = RECURRENT_LAYERS[kind]
        if layer is peephole_lstm:
            functions += [cells.PeepholeLSTMCell.__init__, keras.layers.RNN.__init__]
        else:
            functions.append(layer.__init__)
    for function in functions:
        for parameter in inspect.signature(function).parameters.values():
            if parameter.default is not inspect.Parameter.empty:
                defaults.setdefault(parameter.name, parameter.default)
    return defaults
