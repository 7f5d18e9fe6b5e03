"""Each module's public API is its ``__all__``, and the chapters use only that."""

import importlib
import inspect
import json
import pathlib
import re

import pytest

MODULES = sorted(
    path.stem
    for path in (pathlib.Path(__file__).parent.parent / "src" / "rnnbook").glob("*.py")
    if path.stem != "__init__"
)
CHAPTERS = sorted((pathlib.Path(__file__).parent.parent / "chapters").glob("*.ipynb"))


def chapter_code(path):
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


@pytest.mark.parametrize("name", MODULES)
def test_every_name_in_all_exists_once_and_says_what_it_is(name):
    module = importlib.import_module(f"rnnbook.{name}")
    assert len(module.__all__) == len(set(module.__all__)), "a name is listed twice"
    for public in module.__all__:
        value = getattr(module, public)  # AttributeError names a stale entry
        assert not public.startswith("_")
        if inspect.isfunction(value) or inspect.isclass(value):
            assert value.__module__ == module.__name__, (
                f"{public} is imported, not defined"
            )
            assert inspect.getdoc(value), f"{name}.{public} has no docstring"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda path: path.stem)
def test_chapters_use_only_the_public_api(chapter):
    reference = re.compile(rf"(?<![\w.])({'|'.join(MODULES)})\.(\w+)")
    used = set(reference.findall(chapter_code(chapter)))
    outside = sorted(
        f"{module}.{name}"
        for module, name in used
        if name not in importlib.import_module(f"rnnbook.{module}").__all__
    )
    assert not outside, f"{chapter.name} uses names outside the modules' __all__"
