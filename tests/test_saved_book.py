"""The saved book against the run registry: every number a page shows is its run's
record.

No training and no kernel: the checks read the notebooks' saved outputs and
``results/full/runs/``. Each output that `rnnbook.runs` displays keeps the
key of its run in its metadata (the line that announces a run, a glued
figure, a table); `problems` regenerates it from the record and compares. A
second check flags numbers typed into the prose (`typed_numbers`). The tests
at the end change a saved number and a record, and show that the checks fail.
"""

import copy
import json
import pathlib
import re
import shutil

import pytest

from rnnbook import repository, runs

BOOK = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = sorted((BOOK / "chapters").glob("*.ipynb"))
RUNS = BOOK / "results" / "full" / "runs"
GLUE_PREFIX = "application/papermill.record/"


def load(path):
    return json.loads(pathlib.Path(path).read_text())


def all_records(folder=RUNS):
    return {
        record.key: record
        for record in (runs.read_record(path) for path in sorted(folder.glob("*.json")))
    }


def text(output, mime):
    """An output's text of type `mime` (notebooks store it as a list of lines), or
    None."""
    value = output.get("data", {}).get(mime)
    return "".join(value) if isinstance(value, list) else value


def provenance(notebook):
    """(cell number, output, what rnnbook.runs said it shows) for every output that
    says so."""
    for number, cell in enumerate(notebook["cells"]):
        for output in cell.get("outputs", []):
            said = output.get("metadata", {}).get(runs.METADATA_KEY)
            if said is not None:
                yield number, output, said


def problems(notebook, records):
    """Where a saved output disagrees with the records: a list of sentences, empty if
    none."""
    found = []
    for number, output, said in provenance(notebook):
        where = f"cell {number}"
        if "table" in said:
            table = said["table"]
            missing = [key for _, key in table["rows"] if key not in records]
            if missing:
                found.append(f"{where}: a table shows runs with no record: {missing}")
                continue
            rows = [(name, records[key].as_run()) for name, key in table["rows"]]
            expected = runs.table_markdown(rows, table["columns"], table["label"])
            if text(output, "text/markdown") != expected:
                found.append(
                    f"{where}: the table differs from what the records give now"
                )
            continue
        record = records.get(said["run"])
        if record is None:
            found.append(f"{where}: shows run {said['run']}, which has no record")
        elif "figure" in said:
            saved = float(text(output, GLUE_PREFIX + "text/plain"))
            expected = runs.FIGURES[said["figure"]](record.as_run())
            if saved != expected:
                name = output["metadata"]["scrapbook"]["name"]
                found.append(
                    f"{where}: glued {name} = {saved!r}, but its record gives"
                    f" {expected!r}"
                )
        elif text(output, "text/plain") != runs.describe(record, said["action"]):
            found.append(
                f"{where}: the line of run {record.key} differs from its record"
            )
    return found


def shown_keys(notebook):
    keys = set()
    for _, _, said in provenance(notebook):
        keys |= (
            {key for _, key in said["table"]["rows"]}
            if "table" in said
            else {said["run"]}
        )
    return keys


def first_code_output(notebook):
    """The output of the first code cell after the (hidden) install cell."""
    cell = next(
        c
        for c in notebook["cells"]
        if c["cell_type"] == "code"
        and "".join(c["source"]).strip()
        and not "".join(c["source"]).startswith(repository.INSTALL_MARKER)
    )
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))


# A number typed into prose: a percentage, a ratio ("1.4x", "1.6 times") or a decimal.
NUMBER = re.compile(r"\d[\d,]*(\.\d+)?\s*(%|x\b|times\b)|\d+\.\d+")
# Where a number may stand: fenced code, glue roles, citations, inline code, math
# (settings are written as code or math: `lr=1e-3`, $10^{-3}$), links, and library
# versions.
FENCED = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
ALLOWED = re.compile(
    r"\{glue:[a-z]+\}`[^`]*`|\{cite[:a-z]*\}`[^`]*`|``[^`]*``|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$"
    r"|\]\([^)]*\)|\b(?:TensorFlow|Keras|Python|tf-keras|Jupyter Book) \d+(?:\.\d+)*",
    re.DOTALL | re.MULTILINE,
)
# A marked constant: a published figure quoted beside its citation, in the same
# sentence.
CITED = re.compile(r"[^.]*\{cite[:a-z]*\}`[^`]*`[^.]*", re.DOTALL)


def typed_numbers(notebook):
    """Numbers in markdown cells that neither come from a run (glue) nor are marked
    constants."""
    found = []
    for number, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        text = FENCED.sub(" ", "".join(cell["source"]))
        for sentence in CITED.findall(text):
            text = text.replace(sentence, " ")
        text = ALLOWED.sub(" ", text)
        found += [
            f"cell {number}: {match.group(0)!r}" for match in NUMBER.finditer(text)
        ]
    return found


@pytest.fixture(scope="module")
def records():
    return all_records()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_every_number_from_a_run_is_its_record(path, records):
    assert problems(load(path), records) == []


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_the_first_code_cell_prints_the_full_profile(path):
    assert "profile: full" in first_code_output(load(path))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_no_table_is_a_raw_dataframe(path):
    for cell in load(path)["cells"]:
        for output in cell.get("outputs", []):
            html = text(output, "text/html") or ""
            assert 'class="dataframe' not in html, (
                "a cell shows pandas' own table; show it with rnnbook.tables.show:\n"
                + "".join(cell["source"])[:300]
            )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_no_number_is_typed_into_the_prose(path):
    assert typed_numbers(load(path)) == []


def test_every_record_is_shown_and_every_shown_run_is_recorded(records):
    shown = set().union(*(shown_keys(load(path)) for path in CHAPTERS))
    assert sorted(shown - set(records)) == [], "pages show runs that have no record"
    stale = sorted(f"{records[key].name}-{key}" for key in set(records) - shown)
    assert stale == [], (
        "records that no page shows: delete them, or re-run the chapter that shows them"
    )


def test_make_full_runs_a_chapter_after_the_chapters_it_shows():
    makefile = (BOOK / "Makefile").read_text()
    listed = re.findall(
        r"chapters/(\S+)\.ipynb", makefile.split("CHAPTERS =")[1].split("\n\n")[0]
    )
    assert sorted(listed) == [path.stem for path in CHAPTERS], (
        "make full must run every chapter once"
    )
    records = all_records()
    for position, name in enumerate(listed):
        shown = shown_keys(load(BOOK / "chapters" / f"{name}.ipynb"))
        later = {records[key].chapter for key in shown if key in records} & set(
            listed[position + 1 :]
        )
        assert not later, (
            f"{name} shows runs of {sorted(later)}, which make full runs after it"
        )


# --- The checks can fail.


@pytest.fixture(scope="module")
def shown_chapter(records):
    """A saved chapter that shows runs, glues their figures and tabulates them."""
    for path in CHAPTERS:
        notebook = load(path)
        kinds = {
            "table" if "table" in said else "figure" if "figure" in said else "run"
            for _, _, said in provenance(notebook)
        }
        if {"run", "figure", "table"} <= kinds:
            return notebook
    pytest.fail("no saved chapter shows a run, a glued figure and a table")


def test_a_changed_glued_number_fails(shown_chapter, records):
    notebook = copy.deepcopy(shown_chapter)
    _, output, _ = next(item for item in provenance(notebook) if "figure" in item[2])
    key = GLUE_PREFIX + "text/plain"
    output["data"][key] = repr(float(text(output, key)) + 0.01)
    assert any("glued" in problem for problem in problems(notebook, records))


def test_a_changed_table_or_line_fails(shown_chapter, records):
    for kind in ("table", "run"):
        notebook = copy.deepcopy(shown_chapter)
        _, output, _ = next(
            item
            for item in provenance(notebook)
            if kind in item[2] and "figure" not in item[2]
        )
        mime = "text/markdown" if kind == "table" else "text/plain"
        output["data"][mime] = re.sub(
            r"\d",
            lambda digit: str((int(digit.group(0)) + 1) % 10),
            text(output, mime),
            count=1,
        )
        assert problems(notebook, records), f"a changed {kind} passed"


def test_a_changed_record_fails(shown_chapter, tmp_path):
    shutil.copytree(RUNS, tmp_path / "runs")
    key = next(
        said["run"] for _, _, said in provenance(shown_chapter) if "figure" in said
    )
    path = next((tmp_path / "runs").glob(f"*-{key}.json"))
    fields = json.loads(path.read_text())
    fields["figures"]["test_accuracy"] -= 0.001
    path.write_text(json.dumps(fields))
    assert any(
        key in problem or "glued" in problem
        for problem in problems(shown_chapter, all_records(tmp_path / "runs"))
    )


def test_a_missing_record_fails(shown_chapter, records):
    key = next(said["run"] for _, _, said in provenance(shown_chapter) if "run" in said)
    fewer = {k: v for k, v in records.items() if k != key}
    assert any(
        "has no record" in problem or "no record" in problem
        for problem in problems(shown_chapter, fewer)
    )


def test_typed_numbers_are_found_and_marked_ones_pass():
    def notebook(text):
        return {"cells": [{"cell_type": "markdown", "source": [text]}]}

    assert typed_numbers(
        notebook("It reached 98.8 % and ran 1.4x faster, about 2.5 times.")
    ) == [
        "cell 0: '98.8 %'",
        "cell 0: '1.4x'",
        "cell 0: '2.5 times'",
    ]
    quiet = (
        "It reached {glue:text}`accuracy:.2f` % at a rate of $10^{-3}$ (`lr=1e-3`) on"
        " TensorFlow 2.21. The paper reports 98.9 %"
        " {cite}`someone2020`.\n\n```python\nAdam(0.001)\n```"
    )
    assert typed_numbers(notebook(quiet)) == []
