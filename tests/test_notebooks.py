"""The chapters' plumbing stays out of the rendered page.

Jupyter Book hides a cell tagged ``remove-cell`` and the code of a cell tagged
``remove-input``. Each chapter opens with the Colab/Binder install cell (hidden)
and a tip telling those readers how long the chapter took and how to pick the
smoke profile; a cell that displays library source shows only that source; the
last cell glues the chapter's wall time and machine (hidden). `plumbing_problems`
lists what breaks these rules; the last test shows it finds each break.
"""

import copy
import json
import pathlib

import nbformat
import pytest

from rnnbook import repository

CHAPTERS = sorted((pathlib.Path(__file__).parent.parent / "chapters").glob("*.ipynb"))


def source(cell):
    return "".join(cell["source"])


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def plumbing_problems(notebook):
    """Sentences saying where `notebook` shows plumbing to a reader, or lacks the
    tip right after its install cell; empty if none."""
    problems = []
    cells = notebook["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    if not code or not source(code[0]).startswith(repository.INSTALL_MARKER):
        problems.append(
            f"the first code cell is not the {repository.INSTALL_MARKER!r} cell"
        )
    elif "remove-cell" not in tags(code[0]):
        problems.append("the install cell is not tagged remove-cell")
    after_install = cells.index(code[0]) + 1 if code else len(cells)
    tip_text = source(cells[after_install]) if after_install < len(cells) else ""
    for needed in ("{tip}", "chapter_minutes", "RNNBOOK_PROFILE=smoke"):
        if needed not in tip_text:
            problems.append(f"the chapter's tip does not say {needed!r}")
    if not code or "chapter_minutes" not in source(code[-1]):
        problems.append("the last code cell does not glue chapter_minutes")
    elif "remove-cell" not in tags(code[-1]):
        problems.append(
            "the cell that glues the chapter's time is not tagged remove-cell"
        )
    for number, cell in enumerate(cells):
        if "inspect.getsource" in source(cell) and not {
            "remove-input",
            "remove-cell",
        } & set(tags(cell)):
            problems.append(f"cell {number} displays source but shows its own code too")
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_the_chapter_hides_its_plumbing(path):
    assert plumbing_problems(json.loads(path.read_text())) == []


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_the_notebook_is_valid_nbformat_with_cell_ids(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert all("id" in cell for cell in notebook.cells)


def test_each_break_of_the_rules_is_found():
    notebook = json.loads(CHAPTERS[1].read_text())
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    shown = next(cell for cell in code if "inspect.getsource" in source(cell))

    def broken(cell, break_it):
        copied = copy.deepcopy(notebook)
        break_it(copied["cells"][notebook["cells"].index(cell)])
        return plumbing_problems(copied)

    def untag(cell):
        cell["metadata"]["tags"] = []

    assert any("install cell" in p for p in broken(code[0], untag))
    assert any("displays source" in p for p in broken(shown, untag))
    assert any("chapter's time" in p for p in broken(code[-1], untag))
    tip = notebook["cells"][notebook["cells"].index(code[0]) + 1]
    assert any("smoke" in p for p in broken(tip, lambda cell: cell.update(source="")))
