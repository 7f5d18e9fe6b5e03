"""Figures that the chapters draw, so that each chapter shows only what it teaches.

Every function draws on a new figure and returns it; the notebook displays it.
"""

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "rows_read",
    "ink_per_row",
    "learning_curves",
    "confusion_matrix",
    "misclassified",
    "lstm_cell_diagram",
    "gru_cell_diagram",
    "stack_diagram",
    "hidden_state_heatmaps",
    "accuracy_against_cost",
    "seed_bands",
    "lstm_gate_heatmaps",
    "accuracy_by_rows",
    "gradients_by_distance",
    "accuracy_against_blank_rows",
    "clipping_steps",
    "gates_per_row",
    "matmul_speed",
    "candidate_ratios",
    "throughput_sweep",
]


def rows_read(image, steps, label=None):
    """Show what a row-by-row reader has seen of `image` after each of `steps`.

    Rows read so far are drawn, the row read at that very step is framed in
    red, rows still to come are blank (chapter 1, "An image as a sequence").
    """
    image = np.asarray(image, dtype=np.float32)
    num_rows, num_columns = image.shape
    axes = np.atleast_1d(
        plt.subplots(1, len(steps), figsize=(2.2 * len(steps), 2.8))[1]
    )
    for ax, step in zip(axes, steps):
        if not 1 <= step <= num_rows:
            raise ValueError(f"Steps run from 1 to {num_rows}, got {step}.")
        seen = np.zeros_like(image)
        seen[:step] = image[:step]
        ax.imshow(seen, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.add_patch(
            plt.Rectangle(
                (-0.5, step - 1.5),
                num_columns,
                1,
                fill=False,
                edgecolor="red",
                linewidth=1.5,
            )
        )
        ax.set_title(f"after step {step}")
        ax.set_xticks([0, num_columns - 1], ["1", str(num_columns)])
        ax.set_yticks([0, num_rows - 1], ["1", str(num_rows)])
        ax.set_xlabel("pixel in row")
    axes[0].set_ylabel("row = time step")
    fig = axes[0].figure
    if label is not None:
        fig.suptitle(f"Reading a {label}, one row per time step")
    fig.tight_layout()
    return fig


def ink_per_row(images, labels=None):
    """Plot the mean pixel value of each row over `images` (per class if `labels`).

    Shows which time steps carry information: MNIST digits are centred, so the
    first and last rows are almost always blank.
    """
    images = np.asarray(images, dtype=np.float32)
    rows = np.arange(1, images.shape[1] + 1)
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    if labels is None:
        ax.plot(rows, images.mean(axis=(0, 2)), color="black")
    else:
        for digit in np.unique(labels):
            ax.plot(
                rows,
                images[labels == digit].mean(axis=(0, 2)),
                label=str(digit),
                linewidth=1,
            )
        ax.legend(title="digit", ncol=2, fontsize="small")
    ax.set_xlabel("row = time step")
    ax.set_ylabel("mean pixel value (0 to 1)")
    ax.set_xlim(1, images.shape[1])
    ax.set_title("How much ink each time step carries")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


_METRIC_LABELS = {
    "loss": "training loss (cross-entropy, nats)",
    "accuracy": "training accuracy",
    "val_loss": "validation loss (cross-entropy, nats)",
    "val_accuracy": "validation accuracy",
}


def learning_curves(histories, metrics=("loss", "val_accuracy")):
    """Plot per-epoch `metrics` of several runs, one panel per metric, one line per run.

    `histories` maps a label to a run's history DataFrame
    (`rnnbook.training.Run.history`).
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 3.4))
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        for label, history in histories.items():
            ax.plot(
                history["epoch"], history[metric], marker="o", markersize=3, label=label
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(_METRIC_LABELS.get(metric, metric))
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize="small")
    fig.tight_layout()
    return fig


def confusion_matrix(labels, predictions, num_classes=10):
    """Plot how often each true digit (rows) was predicted as each digit (columns)."""
    counts = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(counts, (np.asarray(labels), np.asarray(predictions)), 1)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    errors = np.where(
        np.eye(num_classes, dtype=bool), 0, counts
    )  # colour only the mistakes
    image = ax.imshow(errors, cmap="Reds")
    for true, predicted in np.ndindex(counts.shape):
        if counts[true, predicted]:
            ax.text(
                predicted,
                true,
                counts[true, predicted],
                ha="center",
                va="center",
                fontsize=7,
                color="black" if true != predicted else "grey",
            )
    ax.set_xticks(range(num_classes))
    ax.set_yticks(range(num_classes))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title("Test images by true and predicted digit")
    fig.colorbar(image, ax=ax, label="misclassified images")
    fig.tight_layout()
    return fig


def misclassified(images, labels, predictions, limit=16):
    """Show up to `limit` images whose prediction differs from the label."""
    wrong = np.flatnonzero(np.asarray(labels) != np.asarray(predictions))[:limit]
    columns = 8
    rows = max(1, math.ceil(len(wrong) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.55 * rows))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, index in zip(np.ravel(axes), wrong):
        ax.imshow(images[index], cmap="gray_r", interpolation="nearest")
        ax.set_title(f"{predictions[index]} (true {labels[index]})", fontsize=8)
    fig.suptitle("Misclassified test digits: predicted (true)")
    fig.tight_layout()
    return fig


class _CellCanvas:
    """The drawing kit of the cell diagrams, so that the LSTM, the peephole LSTM and
    the GRU share one look: a pale frame for the cell, yellow boxes for layers with
    weights, white circles for element-wise operations, dark lines for the data."""

    def __init__(self, title):
        self.fig, self.ax = plt.subplots(figsize=(7.5, 4.2))
        self.ax.set_xlim(-1.6, 11.8)
        self.ax.set_ylim(-1.4, 6.2)
        self.ax.axis("off")
        self.ax.add_patch(
            plt.Rectangle(
                (0, 0.3), 10, 5.4, facecolor="#f3f6fb", edgecolor="#9aa9c1", zorder=0
            )
        )
        self.ax.set_title(title, fontsize=12)

    def tools(self):
        """The four strokes every diagram uses, for short drawing code."""
        return self.line, self.arrow, self.operation, self.layer

    def arrow(self, start, end, color="#333", **style):
        self.ax.annotate(
            "",
            xy=end,
            xytext=start,
            arrowprops=dict(arrowstyle="-|>", color=color, lw=1.2, **style),
        )

    def line(self, *points, color="#333", **style):
        xs, ys = zip(*points)
        self.ax.plot(xs, ys, color=color, lw=1.2, zorder=1, **style)

    def _boxed(self, x, y, text, fontsize, **box):
        self.ax.text(
            x, y, text, ha="center", va="center", fontsize=fontsize, zorder=3, bbox=box
        )

    def layer(self, x, y, text, name):
        """A layer with weights: a yellow box, its output's name above to the left."""
        self._boxed(
            x,
            y,
            text,
            12,
            boxstyle="round,pad=0.35",
            facecolor="#ffd88a",
            edgecolor="#b8860b",
        )
        self.ax.text(x - 0.35, y + 0.65, name, ha="right", va="center", fontsize=11)

    def operation(self, x, y, text, fontsize=12):
        """An element-wise operation (product, sum): a white circle."""
        self._boxed(
            x,
            y,
            text,
            fontsize,
            boxstyle="circle,pad=0.2",
            facecolor="white",
            edgecolor="#333",
        )

    def function(self, x, y, text):
        """An element-wise function without weights (the tanh of the cell state)."""
        self._boxed(
            x,
            y,
            text,
            11,
            boxstyle="round,pad=0.25",
            facecolor="white",
            edgecolor="#333",
        )

    def label(self, x, y, text, fontsize=12, **options):
        self.ax.text(x, y, text, fontsize=fontsize, **options)

    def output(self, x, y_from):
        """The new h_t leaves on the right twice: as the next step's state (bottom)
        and as the step's output (top), branching at `x` from height `y_from`."""
        self.line((x, y_from), (x, 1))
        self.arrow((x, 1), (11.3, 1))
        self.line((x, y_from), (x, 6.0))
        self.arrow((x, 6.0), (11.3, 6.0))
        self.label(10.6, 0.55, r"$h_t$")
        self.label(10.1, 6.1, r"output $h_t$", fontsize=10)

    def done(self):
        self.fig.tight_layout()
        return self.fig


_PEEPHOLE_COLOR = "#2f6db5"


def lstm_cell_diagram(peepholes=False):
    """Draw one LSTM step: the cell-state line on top, the four gate layers below.

    Boxes are layers with weights (sigma or tanh of a weighted sum of x_t and
    h_{t-1}); circles are element-wise operations (chapter 3, "The LSTM cell").
    With `peepholes`, dashed blue lines show what each gate also reads of the
    cell state: c_{t-1} for the forget and input gates, c_t for the output gate,
    each scaled unit by unit by its peephole vector p (chapter 5).
    """
    title = "One step of an LSTM cell" + (" with peepholes" if peepholes else "")
    canvas = _CellCanvas(title)
    line, arrow, operation, layer = canvas.tools()
    # The cell state runs along the top, changed only by a product and a sum.
    line((-1.2, 5), (4.5, 5))
    arrow((4.5, 5), (11.3, 5))
    canvas.label(-1.2, 5.35, r"$c_{t-1}$")
    canvas.label(10.6, 5.35, r"$c_t$")
    operation(2, 5, r"$\times$")
    operation(4.5, 5, r"$+$")
    # The inputs: h_{t-1} from the left, x_t from below, shared by all four layers.
    line((-1.2, 1), (7, 1))
    line((1, -0.9), (1, 1))
    canvas.label(-1.2, 0.55, r"$h_{t-1}$")
    canvas.label(1.2, -1.0, r"$x_t$")
    for x in (2, 3.6, 5.2, 7):
        arrow((x, 1), (x, 1.7))
    layer(2, 2.1, r"$\sigma$", r"$f_t$")
    layer(3.6, 2.1, r"$\sigma$", r"$i_t$")
    layer(5.2, 2.1, r"$\tanh$", r"$\tilde c_t$")
    layer(7, 2.1, r"$\sigma$", r"$o_t$")
    # Forget: f_t scales the old cell state. Write: i_t times the candidate is added.
    arrow((2, 2.5), (2, 4.7))
    operation(4.5, 3.6, r"$\times$")
    line((3.6, 2.5), (3.6, 3.6))
    arrow((3.6, 3.6), (4.25, 3.6))
    line((5.2, 2.5), (5.2, 3.6))
    arrow((5.2, 3.6), (4.75, 3.6))
    arrow((4.5, 3.9), (4.5, 4.7))
    # Read: o_t times tanh(c_t) is the new hidden state, the output of the step.
    canvas.function(8.6, 3.8, r"$\tanh$")
    arrow((8.6, 5), (8.6, 4.15))
    operation(8.6, 2.1, r"$\times$")
    arrow((8.6, 3.45), (8.6, 2.4))
    arrow((7.4, 2.1), (8.3, 2.1))
    line((8.9, 2.1), (9.5, 2.1))
    canvas.output(9.5, 2.1)
    if peepholes:
        # c_{t-1} into the forget and input gates, c_t into the output gate.
        peep = dict(color=_PEEPHOLE_COLOR, linestyle="--")
        line((1.3, 5), (1.3, 3.3), (3.85, 3.3), **peep)
        arrow((2.2, 3.3), (2.2, 2.5), **peep)
        arrow((3.85, 3.3), (3.8, 2.5), **peep)
        line((7.25, 5), (7.25, 3.0), **peep)
        arrow((7.25, 3.0), (7.2, 2.5), **peep)
        canvas.label(2.35, 3.42, r"$p_f, p_i$", fontsize=10, color=_PEEPHOLE_COLOR)
        canvas.label(7.35, 3.6, r"$p_o$", fontsize=10, color=_PEEPHOLE_COLOR)
    return canvas.done()


def gru_cell_diagram():
    """Draw one GRU step in the paper's convention (chapter 6).

    The state h_{t-1} runs along the top. The reset gate r_t scales what the
    candidate layer sees of h_{t-1}; the update gate z_t mixes old and new,
    h_t = z_t * h_{t-1} + (1 - z_t) * candidate. Keras's default,
    ``reset_after=True``, applies r_t after the candidate's recurrent multiply
    instead: the same picture with the reset product moved inside the layer.
    """
    canvas = _CellCanvas("One step of a GRU cell")
    line, arrow, operation, layer = canvas.tools()
    # The state runs along the top: kept in proportion z_t, topped up with the rest.
    line((-1.2, 5), (6.4, 5))
    arrow((6.4, 5), (11.3, 5))
    canvas.label(-1.2, 5.35, r"$h_{t-1}$")
    canvas.label(10.6, 5.35, r"$h_t$")
    operation(6.4, 5, r"$\times$")
    operation(8.4, 5, r"$+$")
    # The gates read h_{t-1} (brought down on the left) and x_t from below.
    line((0.5, 5), (0.5, 1), (5.0, 1))
    line((1.0, -0.9), (1.0, 1))
    canvas.label(1.2, -1.0, r"$x_t$")
    for x in (1.8, 3.2):
        arrow((x, 1), (x, 1.7))
    layer(1.8, 2.1, r"$\sigma$", r"$r_t$")
    layer(3.2, 2.1, r"$\sigma$", r"$z_t$")
    # Reset: r_t times h_{t-1} is what the candidate layer reads, with x_t.
    operation(1.8, 3.8, r"$\times$")
    arrow((1.8, 2.5), (1.8, 3.5))
    line((0.5, 3.8), (1.5, 3.8))
    line((2.1, 3.8), (5.25, 3.8))
    arrow((5.25, 3.8), (5.25, 2.5))
    arrow((5.0, 1), (5.0, 1.7))
    layer(5.0, 2.1, r"$\tanh$", r"$\tilde h_t$")
    # Update: z_t scales the old state; 1 - z_t scales the candidate.
    line((3.2, 2.5), (3.2, 3.0), (6.4, 3.0))
    arrow((6.4, 3.0), (6.4, 4.7))
    operation(7.2, 3.0, r"$1-$", fontsize=9)
    arrow((6.4, 3.0), (6.9, 3.0))
    arrow((7.5, 3.0), (8.1, 3.0))
    operation(8.4, 3.0, r"$\times$")
    line((5.45, 2.1), (8.4, 2.1))
    arrow((8.4, 2.1), (8.4, 2.7))
    arrow((8.4, 3.3), (8.4, 4.7))
    # The new state is also the step's output.
    canvas.output(9.5, 5)
    return canvas.done()


def stack_diagram(num_layers=3, steps=(1, 2, 3, 28)):
    """Draw a stack of recurrent layers unrolled over time (chapter 4).

    Each box is one layer at one step; arrows to the right carry that layer's
    state (h, c) to its next step, arrows up carry its hidden state h to the
    layer above. Only the top layer's last state reaches the classifier.
    """
    fig, ax = plt.subplots(figsize=(7.5, 1.3 + 1.1 * num_layers))
    ax.axis("off")
    columns = [2.0 * i for i in range(len(steps))]
    arrow = dict(arrowstyle="-|>", color="#333", lw=1.1)
    for layer in range(num_layers):
        y = 1.2 * layer
        for i, (x, step) in enumerate(zip(columns, steps)):
            ax.text(
                x,
                y,
                f"layer {layer + 1}",
                ha="center",
                va="center",
                fontsize=9,
                bbox=dict(
                    boxstyle="round,pad=0.4", facecolor="#ffd88a", edgecolor="#b8860b"
                ),
            )
            if i + 1 < len(steps):
                gap = steps[i + 1] - step > 1
                ax.annotate(
                    "",
                    xy=(columns[i + 1] - 0.62, y),
                    xytext=(x + 0.62, y),
                    arrowprops=dict(arrow, linestyle=":" if gap else "-"),
                )
            if layer + 1 < num_layers:
                ax.annotate(
                    "", xy=(x, y + 0.87), xytext=(x, y + 0.33), arrowprops=arrow
                )
        ax.text(
            -1.35,
            y,
            f"$h^{{({layer + 1})}}, c^{{({layer + 1})}}$\nfrom 0",
            ha="center",
            va="center",
            fontsize=8,
        )
        ax.annotate("", xy=(-0.62, y), xytext=(-0.85, y), arrowprops=arrow)
    for x, step in zip(columns, steps):
        ax.text(x, -1.05, f"$x_{{{step}}}$", ha="center", va="center", fontsize=11)
        ax.text(
            x,
            1.2 * num_layers - 0.35,
            f"step {step}",
            ha="center",
            va="center",
            fontsize=9,
            color="#555",
        )
        ax.annotate("", xy=(x, -0.33), xytext=(x, -0.85), arrowprops=arrow)
    top = 1.2 * (num_layers - 1)
    ax.annotate(
        "",
        xy=(columns[-1] + 1.55, top),
        xytext=(columns[-1] + 0.62, top),
        arrowprops=arrow,
    )
    ax.text(
        columns[-1] + 2.3,
        top,
        "dense\n→ 10 logits",
        ha="center",
        va="center",
        fontsize=9,
        bbox=dict(boxstyle="round,pad=0.35", facecolor="#dbe7f7", edgecolor="#6a89b5"),
    )
    ax.text(
        columns[-1] + 1.1,
        top + 0.22,
        f"$h^{{({num_layers})}}_{{{steps[-1]}}}$",
        ha="center",
        fontsize=9,
    )
    ax.set_xlim(-2.1, columns[-1] + 3.2)
    ax.set_ylim(-1.4, 1.2 * num_layers - 0.1)
    ax.set_title(
        f"{num_layers} stacked recurrent layers, unrolled over the rows", fontsize=11
    )
    fig.tight_layout()
    return fig


def hidden_state_heatmaps(states, image, label=None):
    """One digit and each layer's hidden state over the 28 steps, bottom layer first.

    `states` is a list of (time steps, units) arrays. Units are sorted by the
    step at which they reach their largest magnitude, so that units which react
    early sit at the top of each panel (chapter 4, "Inside the stack").
    """
    fig, axes = plt.subplots(
        1,
        len(states) + 1,
        figsize=(2.4 + 3.0 * len(states), 3.6),
        gridspec_kw={"width_ratios": [0.8] + [1] * len(states)},
        layout="constrained",
    )
    axes[0].imshow(image, cmap="gray_r", interpolation="nearest")
    axes[0].set_title("the digit" if label is None else f"the digit ({label})")
    axes[0].set_xlabel("pixel in row")
    axes[0].set_ylabel("row = time step")
    for depth, (ax, state) in enumerate(zip(axes[1:], states), start=1):
        order = np.argsort(np.argmax(np.abs(state), axis=0), kind="stable")
        image_ = ax.imshow(
            state[:, order].T,
            aspect="auto",
            cmap="RdBu_r",
            vmin=-1,
            vmax=1,
            interpolation="nearest",
            extent=(0.5, state.shape[0] + 0.5, state.shape[1], 0),
        )
        ax.set_title(f"layer {depth}: hidden state h")
        ax.set_xlabel("time step (row read)")
    axes[1].set_ylabel("unit (sorted by when it peaks)")
    fig.colorbar(image_, ax=axes[1:], label="h (from -1 to 1)", fraction=0.025)
    return fig


_SIZE_MARKERS = ("o", "s", "^", "D", "v", "P")


def accuracy_against_cost(table):
    """Test accuracy against parameters and against training work, a point per run.

    `table` has the columns ``test_accuracy``, ``parameters``,
    ``training_flops`` (the multiply work of all training steps), ``kind`` (the
    layer, one colour each), ``size`` (layers x units, one marker shape each)
    and ``book_recipe`` (filled if True, hollow if not), as chapter 7 builds it
    in "Every run in one table". The legend names them, so that a point reads
    as its model without a lookup in the table.
    """
    kinds = list(dict.fromkeys(table["kind"]))
    sizes = sorted(set(table["size"]), key=_size_order)
    if len(sizes) > len(_SIZE_MARKERS):
        raise ValueError(
            f"{len(sizes)} model sizes, but only {len(_SIZE_MARKERS)} marker shapes:"
            " plot at most that many sizes in one figure."
        )
    colors = {kind: f"C{number}" for number, kind in enumerate(kinds)}
    markers = dict(zip(sizes, _SIZE_MARKERS))
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 4.2), sharey=True)
    axis_labels = ("parameters", "training work (FLOP)")
    for ax, column, label in zip(
        axes, ("parameters", "training_flops"), axis_labels, strict=True
    ):
        for _, row in table.iterrows():
            color = colors[row["kind"]]
            ax.scatter(
                row[column],
                100 * row["test_accuracy"],
                s=36,
                marker=markers[row["size"]],
                edgecolors=color,
                facecolors=color if row["book_recipe"] else "none",
                linewidths=1.3,
            )
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())  # labels would overlap
        ax.set_xlabel(f"{label}, log scale")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("test accuracy (%)")
    handles = [
        plt.Line2D([], [], marker="o", linestyle="", color=colors[kind], label=kind)
        for kind in kinds
    ]
    handles += [
        plt.Line2D([], [], marker=markers[size], linestyle="", color="0.4", label=size)
        for size in sizes
    ]
    handles += [
        plt.Line2D(
            [], [], marker="o", linestyle="", color="0.4", label="the book's recipe"
        ),
        plt.Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color="0.4",
            markerfacecolor="none",
            label="another recipe",
        ),
    ]
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=min(len(handles), 5),
        fontsize="small",
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.08 * math.ceil(len(handles) / 5), 1, 1))
    return fig


def _size_order(size):
    """'3x150' sorts by layers, then units."""
    layers, units = size.split("x")
    return int(layers), int(units)


def seed_bands(histories, metric="val_accuracy"):
    """Plot `metric` per epoch, the mean over seeds as a line and their range as a band.

    `histories` maps a label to a list of history DataFrames, one per seed.
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for label, runs in histories.items():
        values = np.stack([run[metric].to_numpy() for run in runs])
        _mean_and_range(
            ax,
            runs[0]["epoch"].to_numpy(),
            100 * values,
            label,
            marker="o",
            markersize=3,
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{_METRIC_LABELS.get(metric, metric)} (%)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def _mean_and_range(ax, x, values, label, **line_options):
    """The mean of `values` (runs, points) as a line, their range as a band."""
    (line,) = ax.plot(x, values.mean(axis=0), label=label, **line_options)
    ax.fill_between(
        x, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.2
    )


def lstm_gate_heatmaps(image, gates, label=None):
    """One digit beside its LSTM's input, forget, output gates and cell state per step.

    `gates` is one digit's slice of `rnnbook.reference.lstm_gates`: (time
    steps, units) arrays. Units are sorted by their mean forget gate, so
    that units which keep their memory sit at the top (chapter 7, "Inside
    the trained LSTM").
    """
    panels = (
        ("input", "input gate i", "viridis", 0, 1),
        ("forget", "forget gate f", "viridis", 0, 1),
        ("output", "output gate o", "viridis", 0, 1),
        ("cell", "cell state c", "RdBu_r", -3, 3),
    )
    order = np.argsort(-gates["forget"].mean(axis=0))
    fig, axes = plt.subplots(
        1,
        5,
        figsize=(13.5, 3.2),
        gridspec_kw={"width_ratios": [0.8, 1, 1, 1, 1]},
        layout="constrained",
    )
    axes[0].imshow(image, cmap="gray_r", interpolation="nearest")
    axes[0].set_title("the digit" if label is None else f"the digit ({label})")
    axes[0].set_ylabel("row = time step")
    for ax, (key, title, cmap, low, high) in zip(axes[1:], panels):
        shown = ax.imshow(
            gates[key][:, order].T,
            aspect="auto",
            cmap=cmap,
            vmin=low,
            vmax=high,
            interpolation="nearest",
            extent=(0.5, gates[key].shape[0] + 0.5, gates[key].shape[1], 0),
        )
        ax.set_title(title)
        ax.set_xlabel("time step (row read)")
        if key in ("output", "cell"):
            fig.colorbar(shown, ax=ax, fraction=0.05)
    axes[1].set_ylabel("unit (most remembering first)")
    return fig


def accuracy_by_rows(curves):
    """Accuracy after reading only the first k rows, a line per model, seeds as band.

    `curves` maps a label to an array (seeds, 28) from
    `rnnbook.training.accuracy_by_rows`.
    """
    fig, ax = plt.subplots(figsize=(6.8, 3.8))
    for label, values in curves.items():
        values = np.atleast_2d(values)
        _mean_and_range(ax, np.arange(1, values.shape[1] + 1), 100 * values, label)
    ax.axhline(10, color="gray", linestyle=":", linewidth=1)
    ax.annotate("chance", (1, 11), fontsize="small", color="gray")
    ax.set_xlabel("rows read before answering (k)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_xlim(1, 28)
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def gradients_by_distance(panels, ylabel="median ||dL/dh_t||"):
    """Gradient norms against the rows back from the last, a panel each, log scale.

    `panels` maps a panel's title to ``{label: norms}``, each `norms` an
    array as `rnnbook.gradients.norms_by_distance` gives it (entry d is d
    rows before the last). The panels share their y axis, so that one can
    read how far apart they are (chapter 2, "Gradients against distance").
    """
    fig, axes = plt.subplots(
        1, len(panels), figsize=(3.6 * len(panels) + 0.6, 3.8), sharey=True
    )
    axes = np.atleast_1d(axes)
    for ax, (title, curves) in zip(axes, panels.items()):
        for label, norms in curves.items():
            norms = np.asarray(norms)
            ax.plot(
                np.arange(len(norms)), norms, marker="o", markersize=2.5, label=label
            )
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("rows before the last (T - t)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="small")
    axes[0].set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def accuracy_against_blank_rows(curves):
    """Test accuracy against the blank rows after each digit, a line per cell.

    `curves` maps a label to ``{blank_rows: accuracy}`` (accuracy in [0, 1]);
    the dotted line is chance (chapter 2, "How long can it remember?").
    """
    fig, ax = plt.subplots(figsize=(6.8, 3.8))
    for label, points in curves.items():
        blank_rows = sorted(points)
        ax.plot(
            blank_rows,
            [100 * points[k] for k in blank_rows],
            marker="o",
            label=label,
        )
    ax.axhline(10, color="gray", linestyle=":", linewidth=1)
    ax.annotate("chance", (0, 12), fontsize="small", color="gray")
    ax.set_xlabel("blank rows after the digit (k)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="center left")  # clear of the lines
    fig.tight_layout()
    return fig


def clipping_steps(histories):
    """Gradient norm and loss per training step, a line per run (log scales).

    `histories` maps a label to a table with columns ``gradient_norm`` (the
    norm before any clipping) and ``loss``, a row per step (chapter 2,
    "Exploding gradients and clipping").
    """
    fig, (norm_ax, loss_ax) = plt.subplots(1, 2, figsize=(9.6, 3.6))
    for label, history in histories.items():
        steps = np.arange(1, len(history) + 1)
        norm_ax.plot(steps, history["gradient_norm"], linewidth=1, label=label)
        loss_ax.plot(steps, history["loss"], linewidth=1, label=label)
    norm_ax.set_yscale("log")
    norm_ax.set_ylabel("gradient norm (before clipping)")
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel("training loss of the batch")
    for ax in (norm_ax, loss_ax):
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def gates_per_row(gates, ink):
    """Each gate's mean activation per row (lines) beside the mean ink per row (bars).

    `gates` is `rnnbook.reference.lstm_gates` over many digits; `ink` the
    mean pixel value of each row of the same digits (chapter 7).
    """
    fig, ax = plt.subplots(figsize=(6.8, 3.8))
    rows = np.arange(1, len(ink) + 1)
    bars = ax.twinx()
    bars.bar(rows, ink, color="0.85", width=0.8)
    bars.set_ylabel("mean pixel value of the row")
    ax.set_zorder(bars.get_zorder() + 1)
    ax.patch.set_visible(False)
    for key in ("input", "forget", "output"):
        ax.plot(
            rows,
            gates[key].mean(axis=(0, 2)),
            marker="o",
            markersize=3,
            label=f"{key} gate",
        )
    ax.set_xlabel("row (time step)")
    ax.set_ylabel("mean gate activation")
    ax.set_ylim(0, 1)
    ax.set_xlim(0.5, len(ink) + 0.5)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    fig.tight_layout()
    return fig


def matmul_speed(sizes, gflops, peak):
    """Matmul GFLOP/s against the matrix size k, a line per batch size, and the peak.

    `gflops` maps a label (such as "batch 50") to one value per size in `sizes`
    (chapter 8, "Why recurrent networks are slow on a CPU").
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for label, values in gflops.items():
        ax.plot(sizes, values, marker="o", label=label)
    ax.axhline(peak, color="gray", linestyle="--", linewidth=1)
    ax.annotate(
        f"peak: 1024 x 1024, {peak:.0f} GFLOP/s",
        (sizes[0], peak),
        xytext=(0, -12),
        textcoords="offset points",
        fontsize="small",
        color="gray",
    )
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(size) for size in sizes])
    ax.set_xlabel("k: a chain of (batch, k) x (k, k) multiplies")
    ax.set_ylabel("GFLOP/s")
    ax.set_ylim(0, 1.1 * peak)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="center right")
    fig.tight_layout()
    return fig


def candidate_ratios(table, baseline="tf1"):
    """Each candidate's speed over the baseline's, by model: bars, and the medians.

    `table` is `rnnbook.bench.summarize`'s: indexed by (model, candidate),
    with ``fastest``, ``median`` and ``vs_<baseline>``. A bar is the table's
    ratio (its statistic, `rnnbook.bench.RATIO_STATISTIC`); a dot on it the
    ratio of the two medians, which the machine's slow passes move.
    """
    models_ = list(dict.fromkeys(table.index.get_level_values("model")))
    candidates = list(dict.fromkeys(table.index.get_level_values("candidate")))
    base = table.xs(baseline, level="candidate")["median"].reindex(models_)
    fig, ax = plt.subplots(figsize=(10.4, 4.2))
    width = 0.8 / len(candidates)
    for position, candidate in enumerate(candidates):
        rows = table.xs(candidate, level="candidate").reindex(models_)
        x = np.arange(len(models_)) + (position - (len(candidates) - 1) / 2) * width
        ax.bar(x, rows[f"vs_{baseline}"], width, label=candidate)
        ax.plot(x, rows["median"] / base, ".", color="black", markersize=3)
    ax.plot([], [], ".", color="black", label="median / median")
    ax.axhline(1.0, color="black", linewidth=0.8)
    # Long names on two lines, so that neighbours do not touch.
    ax.set_xticks(np.arange(len(models_)), [textwrap.fill(m, 16) for m in models_])
    ax.set_ylabel(f"images per second / {baseline}'s")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(
        fontsize="small",
        ncol=min(len(candidates) + 1, 6),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
    )
    fig.tight_layout()
    return fig


def throughput_sweep(panels):
    """Measured images per second (points) and a fitted cost model (line), per sweep.

    `panels` is a list of ``(label, x, measured, grid, fitted)`` tuples
    (chapter 8, "How the cost grows"): the x axis's label, the x values
    measured, the images per second measured at them, a fine grid of x values
    and the fitted images per second at that grid.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8))
    for ax, (label, x, measured, grid, fitted) in zip(np.atleast_1d(axes), panels):
        ax.plot(x, measured, "o", label="measured")
        ax.plot(grid, fitted, "-", label="fit: time = a + b x FLOPs")
        ax.set_xlabel(label)
        ax.set_ylabel("training images per second")
        ax.set_xticks(x)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize="small")
    fig.tight_layout()
    return fig
