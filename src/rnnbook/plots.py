"""Figures that the chapters draw, so that each chapter shows only what it teaches.

Every function draws on a new figure and returns it; the notebook displays it.
"""

import matplotlib.pyplot as plt
import numpy as np


def rows_read(image, steps, label=None):
    """Show what a row-by-row reader has seen of `image` after each of `steps`.

    Rows read so far are drawn, the row read at that very step is framed in
    red, rows still to come are blank (chapter 1, "An image as a sequence").
    """
    image = np.asarray(image, dtype=np.float32)
    num_rows, num_columns = image.shape
    axes = np.atleast_1d(plt.subplots(1, len(steps), figsize=(2.2 * len(steps), 2.8))[1])
    for ax, step in zip(axes, steps):
        if not 1 <= step <= num_rows:
            raise ValueError(f"Steps run from 1 to {num_rows}, got {step}.")
        seen = np.zeros_like(image)
        seen[:step] = image[:step]
        ax.imshow(seen, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
        ax.add_patch(
            plt.Rectangle((-0.5, step - 1.5), num_columns, 1, fill=False, edgecolor="red", linewidth=1.5)
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
            ax.plot(rows, images[labels == digit].mean(axis=(0, 2)), label=str(digit), linewidth=1)
        ax.legend(title="digit", ncol=2, fontsize="small")
    ax.set_xlabel("row = time step")
    ax.set_ylabel("mean pixel value (0 to 1)")
    ax.set_xlim(1, images.shape[1])
    ax.set_title("How much ink each time step carries")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
