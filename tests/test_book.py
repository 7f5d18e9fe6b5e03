"""The rendered book: build it, check its HTML, and look at it in a real browser.

The build runs once per session into a temporary folder with the book's own
settings, warnings as errors. For the browser, MathJax must load without
internet, so the build points MathJax at a local copy when ``RNNBOOK_MATHJAX``
names one (``.ci/run`` installs it from npm). Headless Chromium then loads
every page of the table of contents at a laptop's width, lets MathJax typeset,
dumps the page and saves a screenshot next to the build
(``_build/screenshots/``). A script slipped into each page marks the code
blocks that scroll sideways, which the page's own layout cannot show in a dump.
"""

import html as html_module
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

BOOK = pathlib.Path(__file__).resolve().parents[1]
SCREENSHOTS = BOOK / "_build" / "screenshots"
# Chromium as the machine's probe starts it: no sandbox as root, no background
# connections.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-file-access-from-files",
    "--virtual-time-budget=30000",
    "--enable-logging=stderr",
    "--v=0",
    "--window-size=1280,1800",
)
# Run once the page has loaded: name the code blocks (source and outputs) that are
# wider than their box, in an attribute of <body> that --dump-dom keeps.
SIDEWAYS_PROBE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const wide = [...document.querySelectorAll("pre")]
    .filter((block) => block.scrollWidth > block.clientWidth + 1)
    .map((block) => block.textContent.split("\\n")[0].slice(0, 60));
  document.body.setAttribute("data-sideways", JSON.stringify(wide));
}, 1000));
</script>"""


def toc_files():
    """Every document the table of contents lists, root first."""
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part["chapters"]]
    return files


CHAPTERS = [name for name in toc_files() if name.startswith("chapters/")]


@pytest.fixture(scope="session")
def html(tmp_path_factory):
    """Build the book (-W -n --keep-going) and return its HTML folder."""
    out = tmp_path_factory.mktemp("book")
    command = [
        "jupyter-book",
        "build",
        str(BOOK),
        "--path-output",
        str(out),
        "-W",
        "-n",
        "--keep-going",
    ]
    mathjax = os.environ.get("RNNBOOK_MATHJAX")
    if mathjax:
        if not pathlib.Path(mathjax).is_file():
            pytest.fail(
                f"RNNBOOK_MATHJAX names {mathjax}, which is not a file: point it at"
                " MathJax's tex-mml-chtml.js."
            )
        settings = yaml.safe_load((BOOK / "_config.yml").read_text())
        settings["sphinx"]["config"]["mathjax_path"] = (
            pathlib.Path(mathjax).resolve().as_uri()
        )
        # Local extensions are found relative to the configuration file, which now lives
        # elsewhere.
        settings["sphinx"]["local_extensions"] = {
            name: str(BOOK / folder)
            for name, folder in settings["sphinx"].get("local_extensions", {}).items()
        }
        config = out / "_config.yml"
        config.write_text(yaml.safe_dump(settings))
        command += ["--config", str(config)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (
        "the book build failed or warned:\n"
        f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )
    return out / "_build" / "html"


def test_every_page_in_the_table_of_contents_is_built(html):
    missing = [name for name in toc_files() if not (html / f"{name}.html").is_file()]
    assert not missing, f"no HTML page for {missing}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_pages_show_their_figures_and_no_errors(html, chapter):
    page = (html / f"{chapter}.html").read_text()
    notebook = json.loads((BOOK / f"{chapter}.ipynb").read_text())
    figures = sum(
        "image/png" in output.get("data", {})
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        and "remove-output" not in cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", [])
    )
    assert page.count("<img") >= figures, (
        f"{chapter}: {page.count('<img')} images for {figures} figures"
    )
    assert "Traceback (most recent call last)" not in page
    assert 'class="output traceback' not in page and 'class="output error' not in page


@pytest.mark.parametrize("chapter", ["chapters/03_single_lstm", "chapters/06_gru"])
def test_math_is_on_the_page(html, chapter):
    assert re.search(
        r'class="math notranslate nohighlight"', (html / f"{chapter}.html").read_text()
    )


def test_intro_shows_the_generated_headline_table(html):
    intro = (html / "intro.html").read_text()
    assert "Test accuracy (%)" in intro and "<table" in intro


# --- a real browser ------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    missing = [] if path else ["Chromium (apt-get install chromium)"]
    if not os.environ.get("RNNBOOK_MATHJAX"):
        missing.append(
            "a local MathJax named by RNNBOOK_MATHJAX (npm install mathjax@3; .ci/run"
            " does it)"
        )
    if missing:
        message = f"the browser check needs {' and '.join(missing)}"
        if os.environ.get("RNNBOOK_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def render(chromium, page, screenshot, profile):
    """Load `page` headless; return its DOM after scripts ran (with the sideways
    probe's verdict), and the console's errors. Save a screenshot of the page as
    built."""
    flags = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    probed = page.with_name(f"{page.stem}.probed.html")
    probed.write_text(page.read_text().replace("</body>", f"{SIDEWAYS_PROBE}</body>"))
    dom = subprocess.run(
        [*flags, "--dump-dom", probed.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    shot = subprocess.run(
        [
            *flags,
            f"--screenshot={screenshot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert shot.returncode == 0 and screenshot.is_file(), shot.stderr[-2000:]
    errors = [
        line
        for line in dom.stderr.splitlines()
        if "CONSOLE" in line and "Uncaught" in line
    ]
    return dom.stdout, errors


def page_problems(dom, errors):
    """What is wrong with a rendered page: JavaScript errors, raw $$, math MathJax
    did not typeset, code that scrolls sideways."""
    problems = [f"JavaScript error: {line}" for line in errors]
    verdict = re.search(r'data-sideways="([^"]*)"', dom)
    if verdict is None:
        problems.append("the sideways probe did not run")
    else:
        for first_line in json.loads(html_module.unescape(verdict.group(1))):
            problems.append(f"code scrolls sideways: {first_line!r}")
    text = re.sub(r"<script.*?</script>", "", dom, flags=re.DOTALL)
    if "$$" in text:
        problems.append("raw $$ on the page")
    untypeset = len(re.findall(r'class="math notranslate nohighlight"', text))
    if untypeset and "<mjx-container" not in text:
        problems.append(f"{untypeset} math blocks, none typeset by MathJax")
    return problems


@pytest.mark.parametrize("name", toc_files())
def test_pages_render_in_a_browser(html, chromium, tmp_path, name):
    dom, errors = render(
        chromium,
        html / f"{name}.html",
        SCREENSHOTS / f"{name.replace('/', '_')}.png",
        tmp_path,
    )
    assert page_problems(dom, errors) == []
    if name in ("chapters/03_single_lstm", "chapters/06_gru"):
        assert "<mjx-container" in dom


def test_the_browser_check_catches_a_broken_page(chromium, tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        '<html><body><p>$$x^2$$</p><div class="math notranslate'
        ' nohighlight">\\[x\\]</div><pre style="width: 20em">'
        + "wide_code = 1"
        + " + 1" * 200
        + "</pre><script>undefinedFunction();</script></body></html>"
    )
    dom, errors = render(chromium, page, tmp_path / "broken.png", tmp_path / "profile")
    problems = page_problems(dom, errors)
    assert any("JavaScript error" in p for p in problems), problems
    assert "raw $$ on the page" in problems
    assert any("none typeset" in p for p in problems)
    assert any("code scrolls sideways: 'wide_code = 1" in p for p in problems), problems
