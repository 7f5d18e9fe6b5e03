"""Tables a reader would print: a DataFrame as a Markdown table.

Every table of the book goes through `markdown` (the run tables of
`rnnbook.runs` and the headline of `rnnbook.results` too), so that they all
read alike: headers in words with their units, the row labels as a first
column (or none, when they only count rows), numbers to the precision that
matters, right-aligned. The book renders Markdown outputs as MyST, so the table
is typeset by the book's theme, not shown as pandas' HTML.
"""

import re

__all__ = ["MISSING", "TableError", "markdown", "show"]

# A header in code style, e.g. ``test_accuracy``: a table should say it in words.
_CODE_STYLE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
# A formatted cell that reads as a number: "52,610", "-0.05", "1.2e-07", "98.91 ± 0.06".
_NUMBER = re.compile(r"^[-+−]?[\d,]*\.?\d+(e[-+]?\d+)?( ± [\d.]+)?$")


class TableError(ValueError):
    """A table that would not read well: what is wrong and how to fix it."""


# What a table shows where a value is missing (a candidate that does not apply).
MISSING = "–"


def _format(value, spec):
    if value is None or (isinstance(value, float) and value != value):  # NaN
        return MISSING
    if spec is None:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, int) or (
            hasattr(value, "dtype") and value.dtype.kind in "iu"
        ):
            return f"{value:,}"
        return str(value)
    if callable(spec):
        return spec(value)
    return format(value, spec)


def markdown(frame, formats=None, note=None):
    """`frame` as a Markdown table, a row per row of `frame`.

    Args:
        frame: a `pandas.DataFrame` whose column names are the headers, in words
            with units, e.g. ``"Test accuracy (%)"``. A named index (each level
            of a MultiIndex) becomes the first column(s), its name the header,
            and a label repeated on consecutive rows is shown once. An unnamed
            index only counts rows and is left out.
        formats: ``{header: spec}``, a `format` spec (``",.0f"``, ``".2f"``)
            or a function of the value. Every column of floats needs one: the
            precision that matters is the author's choice, not pandas'.
            Integers get thousands separators, booleans "yes"/"no".
        note: a line printed under the table, for a footnote.

    Returns:
        The table as Markdown text.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"Model": ["LSTM", "GRU"], "Accuracy (%)": [98.91, 99.0]})
    >>> print(markdown(frame, {"Accuracy (%)": ".1f"}))
    | Model | Accuracy (%) |
    |---|--:|
    | LSTM | 98.9 |
    | GRU | 99.0 |
    <BLANKLINE>
    """
    formats = dict(formats or {})
    named = [name for name in frame.index.names if name is not None]
    if named:
        if len(named) != frame.index.nlevels:
            raise TableError(
                f"Name every level of the index (got {list(frame.index.names)}),"
                " or reset it: a row label needs a header."
            )
        frame = frame.reset_index()
    else:
        frame = frame.reset_index(drop=True)
    headers = [str(header) for header in frame.columns]
    unknown = sorted(set(formats) - set(headers))
    if unknown:
        raise TableError(f"formats names no column of the table: {unknown}.")
    for header, column in frame.items():
        header = str(header)
        if _CODE_STYLE.match(header):
            raise TableError(
                f"Header {header!r} is a variable name; rename the column to words"
                " with its unit, e.g. 'Test accuracy (%)'."
            )
        if column.dtype.kind == "f" and header not in formats:
            raise TableError(
                f"Column {header!r} holds floats: give its precision in formats,"
                f" e.g. formats={{{header!r}: '.2f'}}."
            )
    cells = [
        [_format(value, formats.get(header)) for header, value in zip(headers, row)]
        for row in frame.itertuples(index=False)
    ]
    for level in range(len(named) if named else 0):  # show a repeated label once
        for row in range(len(cells) - 1, 0, -1):
            if cells[row][: level + 1] == cells[row - 1][: level + 1]:
                cells[row][level] = ""
    numeric = [
        frame[header].dtype.kind in "iuf"
        or all(
            _NUMBER.match(row[position])
            for row in cells
            if row[position] not in ("", MISSING)
        )
        for position, header in enumerate(frame.columns)
    ]
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("--:" if right else "---" for right in numeric) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def show(frame, formats=None, note=None, metadata=None):
    """Display `markdown` of `frame` in a notebook (printed in a script).

    `metadata` goes into the output's metadata, e.g. the keys of the runs a
    table shows (`rnnbook.runs.table`).
    """
    from IPython import get_ipython
    from IPython.display import display

    text = markdown(frame, formats, note)
    if get_ipython() is None:
        print(text)
        return
    display(
        {"text/markdown": text, "text/plain": text}, raw=True, metadata=metadata or {}
    )
