import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from rnnbook import plots  # noqa: E402


def test_throughput_sweep_draws_points_at_x_and_the_fit_along_the_grid():
    grid = np.linspace(50, 200, 31)
    panel = (
        "batch size",
        [50, 100, 200],
        [1000.0, 1500.0, 1800.0],
        grid,
        2000.0 - 50_000.0 / grid,
    )
    figure = plots.throughput_sweep([panel, panel])
    points, fit = figure.axes[0].get_lines()
    np.testing.assert_array_equal(points.get_xdata(), panel[1])
    np.testing.assert_array_equal(points.get_ydata(), panel[2])
    np.testing.assert_array_equal(fit.get_xdata(), grid)
    np.testing.assert_array_equal(fit.get_ydata(), panel[4])
    assert len(figure.axes) == 2 and figure.axes[0].get_xlabel() == "batch size"


def test_the_peephole_diagram_adds_three_dashed_peepholes_to_the_lstm():
    def dashed(figure):
        axes = figure.axes[0]
        lines = [line for line in axes.get_lines() if line.get_linestyle() == "--"]
        arrows = [
            text
            for text in axes.texts
            if getattr(text, "arrow_patch", None) is not None
            and text.arrow_patch.get_linestyle() == "--"
        ]
        return len(lines), len(arrows)

    plain = plots.lstm_cell_diagram()
    peephole = plots.lstm_cell_diagram(peepholes=True)
    assert dashed(plain) == (0, 0)
    lines, arrows = dashed(peephole)
    assert lines == 2 and arrows == 3, (lines, arrows)
    assert "peepholes" in peephole.axes[0].get_title()


def test_the_gru_diagram_names_both_gates_and_the_candidate():
    texts = {text.get_text() for text in plots.gru_cell_diagram().axes[0].texts}
    assert {r"$r_t$", r"$z_t$", r"$\tilde h_t$", r"$h_{t-1}$", r"$x_t$"} <= texts


def test_accuracy_against_cost_draws_each_run_as_its_model():
    import pandas as pd

    table = pd.DataFrame(
        {
            "test_accuracy": [0.95, 0.99, 0.99],
            "parameters": [52_610, 52_610, 354_310],
            "training_flops": [2e12, 2e12, 2e13],
            "kind": ["LSTM", "LSTM", "GRU"],
            "size": ["1x100", "1x100", "3x150"],
            "book_recipe": [False, True, True],
        }
    )
    figure = plots.accuracy_against_cost(table)
    points = figure.axes[0].collections
    assert len(points) == 3
    hollow, filled, gru = (point.get_facecolor() for point in points)
    assert hollow.size == 0 or hollow[0][3] == 0  # no fill: another recipe
    assert filled[0][3] == 1 and tuple(gru[0]) != tuple(filled[0])
    names = [text.get_text() for text in figure.legends[0].get_texts()]
    assert names[:4] == ["LSTM", "GRU", "1x100", "3x150"]


def test_gradients_by_distance_draws_a_log_panel_per_entry_from_the_last_row():
    norms = np.array([1.0, 0.1, 0.01])
    figure = plots.gradients_by_distance(
        {"at initialisation": {"LSTM": norms}, "after training": {"LSTM": norms * 2}}
    )
    first, second = figure.axes
    assert first.get_yscale() == second.get_yscale() == "log"
    assert first.get_title() == "at initialisation"
    (line,) = second.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), [0, 1, 2])
    np.testing.assert_array_equal(line.get_ydata(), norms * 2)


def test_accuracy_against_blank_rows_plots_percent_in_order_of_rows():
    figure = plots.accuracy_against_blank_rows({"GRU": {50: 0.5, 0: 0.9}})
    line = figure.axes[0].get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), [0, 50])
    np.testing.assert_allclose(line.get_ydata(), [90.0, 50.0])


def test_clipping_steps_draws_norm_and_loss_per_step():
    import pandas as pd

    history = pd.DataFrame({"gradient_norm": [5.0, 2.0], "loss": [2.3, 1.9]})
    figure = plots.clipping_steps({"clipped": history})
    norm_ax, loss_ax = figure.axes
    np.testing.assert_array_equal(norm_ax.get_lines()[0].get_ydata(), [5.0, 2.0])
    np.testing.assert_array_equal(loss_ax.get_lines()[0].get_xdata(), [1, 2])
