import json
import pathlib
import shutil

import pytest

from rnnbook import repository

BOOK = pathlib.Path(__file__).resolve().parents[1]


def test_every_copy_of_the_repository_url_is_the_one_in_config():
    target = repository.url(BOOK)
    assert target.startswith("https://")
    wrong = {
        str(path.relative_to(BOOK)): found
        for path, found in repository.copies(BOOK).items()
        if found != target
    }
    assert not wrong, (
        f"these copies differ from _config.yml's {target}: {wrong}; run"
        " `python -m rnnbook.repository` in the book's folder"
    )


def test_write_copies_a_new_url_everywhere(tmp_path, capsys):
    for name in ("_config.yml", "pyproject.toml", "chapters"):
        source = BOOK / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    config = tmp_path / "_config.yml"
    config.write_text(
        config.read_text().replace(repository.url(BOOK), "https://example.org/me/book")
    )
    changed = repository.write(tmp_path)
    assert len(changed) == len(list((BOOK / "chapters").glob("*.ipynb"))) + 1
    assert set(repository.copies(tmp_path).values()) == {"https://example.org/me/book"}
    json.loads((tmp_path / "chapters" / "03_single_lstm.ipynb").read_text())
    assert repository.write(tmp_path) == []  # nothing left to change
    repository.main([str(tmp_path)])
    assert (
        "every copy already reads https://example.org/me/book"
        in capsys.readouterr().out
    )


def test_a_missing_url_or_install_cell_says_what_to_add(tmp_path):
    (tmp_path / "_config.yml").write_text("title: x\n")
    with pytest.raises(repository.RepositoryError, match="has no repository.url"):
        repository.url(tmp_path)
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "a.ipynb").write_text(json.dumps({"cells": []}))
    with pytest.raises(repository.RepositoryError, match="has no install cell"):
        repository.copies(tmp_path)
