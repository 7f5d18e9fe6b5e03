"""Where the book is published: one URL, ``repository.url`` in ``_config.yml``.

Jupyter Book's launch buttons and repository button read it there. Two places
cannot read it and hold a copy: each chapter's install cell, which runs on a
fresh Colab before anything of the book is there, and ``pyproject.toml``'s
``[project.urls]``, since setuptools reads no YAML. `write` copies the URL
into both; tests/test_repository.py fails while a copy differs. To publish
the book elsewhere, change ``_config.yml`` and run
``python -m rnnbook.repository`` in the book's folder.
"""

import argparse
import json
import pathlib
import re

__all__ = ["INSTALL_MARKER", "RepositoryError", "url", "copies", "write"]

# `repository:` at the top level of _config.yml, then its indented `url:`.
_CONFIG_URL = re.compile(
    r"^repository:[ \t]*\n(?:[ \t]+.*\n)*?[ \t]+url:[ \t]*(\S+)", re.M
)
# The copies: the clone in a chapter's install cell, and pyproject's Repository URL.
_CELL_URL = re.compile(r"(git clone -q --depth 1 )(\S+)")
_PROJECT_URL = re.compile(r'^(Repository = ")([^"]+)(")', re.M)
INSTALL_MARKER = "# Colab or Binder:"


class RepositoryError(ValueError):
    """The repository URL or one of its copies cannot be found."""


def url(book="."):
    """The book's repository URL, from ``_config.yml`` in the folder `book`."""
    config = pathlib.Path(book) / "_config.yml"
    found = _CONFIG_URL.search(config.read_text())
    if not found:
        raise RepositoryError(
            f"{config} has no repository.url; add 'repository:' with an indented"
            " 'url: https://github.com/<owner>/<name>'."
        )
    return found.group(1)


def _install_cell(notebook, path):
    """The source of `notebook`'s install cell (the one starting `INSTALL_MARKER`)."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and "".join(cell["source"]).startswith(
            INSTALL_MARKER
        ):
            return cell
    raise RepositoryError(
        f"{path} has no install cell (a code cell starting {INSTALL_MARKER!r})."
    )


def copies(book="."):
    """``{file: URL}`` of every copy of the URL: each chapter and pyproject.toml."""
    book = pathlib.Path(book)
    found = {}
    for path in sorted((book / "chapters").glob("*.ipynb")):
        cell = _install_cell(json.loads(path.read_text()), path)
        match = _CELL_URL.search("".join(cell["source"]))
        if not match:
            raise RepositoryError(f"The install cell of {path} clones no repository.")
        found[path] = match.group(2)
    pyproject = book / "pyproject.toml"
    match = _PROJECT_URL.search(pyproject.read_text())
    if not match:
        raise RepositoryError(f"{pyproject} has no [project.urls] Repository line.")
    found[pyproject] = match.group(2)
    return found


def write(book="."):
    """Copy `url` into every one of `copies`; return the files changed."""
    book, target = pathlib.Path(book), url(book)
    changed = []
    for path, current in copies(book).items():
        if current == target:
            continue
        if path.suffix == ".ipynb":
            notebook = json.loads(path.read_text())
            cell = _install_cell(notebook, path)
            source = _CELL_URL.sub(rf"\g<1>{target}", "".join(cell["source"]))
            cell["source"] = source.splitlines(keepends=True)
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
        else:
            path.write_text(_PROJECT_URL.sub(rf"\g<1>{target}\g<3>", path.read_text()))
        changed.append(path)
    return changed


def main(argv=None):
    """``python -m rnnbook.repository [BOOK]``: copy the URL, say what changed."""
    parser = argparse.ArgumentParser(
        prog="python -m rnnbook.repository",
        description="Copy _config.yml's repository.url into each chapter's install"
        " cell and pyproject.toml's [project.urls].",
    )
    parser.add_argument("book", nargs="?", default=".", help="the book's folder")
    book = parser.parse_args(argv).book
    changed = write(book)
    for path in changed:
        print(f"wrote {url(book)} into {path}")
    if not changed:
        print(f"every copy already reads {url(book)}")


if __name__ == "__main__":
    main()
