"""The chapters' own checks fail when what they check is wrong.

CI runs the chapters with ``--nbval-lax``, which compares only the outputs
of marked cells, so a check that merely printed a large difference would
pass. Each test here runs a chapter up to one of its checks, with one cell
slipped in before it that corrupts what the check compares (a NumPy cell
off by 1e-3, a fused layer computing something else, a replica's losses
off by 1e-3), and expects that check's cell to stop the chapter.
"""

import pathlib

import nbclient
import nbformat
import pytest

CHAPTERS = pathlib.Path(__file__).parent.parent / "chapters"

SABOTAGES = {
    "numpy_bptt_off": (
        "02_why_gates",
        "reference.simple_rnn_gradients(",
        (
            "_gradients = reference.simple_rnn_gradients\ndef _off(*args, **options):"
            "\n    loss, found = _gradients(*args, **options)\n    found['states'] ="
            " found['states'] + 1e-3\n    return loss, found\n"
            "reference.simple_rnn_gradients = _off"
        ),
    ),
    "numpy_lstm_off": (
        "03_single_lstm",
        '"all hidden states, Keras vs NumPy"',
        (
            "_lstm = reference.lstm\nreference.lstm = lambda *args: tuple(array + 1e-3"
            " for array in _lstm(*args))"
        ),
    ),
    "numpy_gru_off": (
        "06_gru",
        'f"reset_after={reset_after}: Keras vs NumPy"',
        (
            "_gru = reference.gru\nreference.gru = lambda *args, **options: tuple(array"
            " + 1e-3 for array in _gru(*args, **options))"
        ),
    ),
    "fused_layer_wrong": (
        "08_training_speed",
        "reference.check_small(",
        (
            "fused.ProjectedGRU = lambda units, **options: keras.layers.GRU(units,"
            ' activation="relu", **options)'
        ),
    ),
    "replica_losses_off": (
        "09_scaling_out",
        "reference.check_small(",
        (
            "_first_losses = distribute.first_losses\ndef _off(strategy, *args,"
            " **options):\n    losses = _first_losses(strategy, *args, **options)\n   "
            " return [loss * 1.001 for loss in losses] if strategy.num_replicas_in_sync"
            " > 1 else losses\ndistribute.first_losses = _off"
        ),
    ),
}


def run_up_to_check(chapter, marker, sabotage):
    """Run `chapter`'s code cells up to the one containing `marker`, `sabotage` just
    before it."""
    notebook = nbformat.read(CHAPTERS / f"{chapter}.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    position = next((i for i, cell in enumerate(code) if marker in cell.source), None)
    if position is None:
        pytest.fail(
            f"{chapter} has no code cell with {marker!r}: update this test with the"
            " chapter."
        )
    notebook.cells = [
        *code[:position],
        nbformat.v4.new_code_cell(sabotage),
        code[position],
    ]
    client = nbclient.NotebookClient(
        notebook, timeout=600, resources={"metadata": {"path": str(CHAPTERS)}}
    )
    client.execute()
    return notebook


@pytest.mark.parametrize("name", sorted(SABOTAGES))
def test_a_chapter_check_fed_a_wrong_value_fails_its_cell(name, mnist_folder):
    chapter, marker, sabotage = SABOTAGES[name]
    with pytest.raises(nbclient.exceptions.CellExecutionError) as error:
        run_up_to_check(chapter, marker, sabotage)
    assert "AssertionError" in str(error.value) and "over the tolerance" in str(
        error.value
    )
    assert marker in str(error.value)  # the check's own cell failed, not an earlier one


def test_the_same_cells_pass_without_the_sabotage(mnist_folder):
    chapter, marker, _ = SABOTAGES["fused_layer_wrong"]
    notebook = run_up_to_check(chapter, marker, "pass")
    (printed,) = [
        output.text
        for output in notebook.cells[-1].outputs
        if output.output_type == "stream"
    ]
    assert "largest |difference|" in printed
