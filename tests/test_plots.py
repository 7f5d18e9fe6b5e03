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
