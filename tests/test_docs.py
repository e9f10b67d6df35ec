"""Every ```python block of README.md, docs/*.md and docs/gallery/*.md runs.

The blocks of one file run in order in one namespace (later blocks use what
earlier ones defined), in a scratch working directory. A block preceded by
the HTML comment ``<!-- no-test -->`` is skipped: use it for examples that
need the network or a GPU. New pages in docs/ and docs/gallery/ are picked up
automatically. A page that reads the shared datasets names the folder with the
``ALBERT_SK_DATA`` environment variable (set here to ../shared/data, see its
SOURCES.md) and is skipped where that folder is absent.
"""

import os
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = (
    sorted(DOCS.glob("*.md")) + sorted(DOCS.glob("gallery/*.md")) + [ROOT / "README.md"]
)
SKIP_MARK = "<!-- no-test -->"
DATA_VARIABLE = "ALBERT_SK_DATA"
DATA = Path(os.environ.get(DATA_VARIABLE, ROOT.parent / "shared" / "data"))


def python_blocks(markdown):
    """``(line, code, skipped)`` for each ```python block of ``markdown``.

    ``line`` is the page line the code starts on; ``skipped`` is True when
    the last non-blank line before the fence is ``<!-- no-test -->``.
    """
    lines = markdown.splitlines()
    blocks, previous, i = [], "", 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith("```"):
            end = i + 1
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            if stripped[3:].strip() == "python":
                code = textwrap.dedent("\n".join(lines[i + 1 : end]) + "\n")
                blocks.append((i + 2, code, previous == SKIP_MARK))
            previous, i = "```", end + 1
            continue
        if stripped:
            previous = stripped
        i += 1
    return blocks


def test_python_blocks_are_found_in_order_with_their_skip_marks():
    markdown = (
        "# Title\n\n```python\nx = 1\n```\n\ntext\n\n"
        "<!-- no-test -->\n```python\nimport network_thing\n```\n"
        "<!-- no-test -->\n\n```python\nalso_skipped()\n```\n"
        "```bash\nnot python\n```\n"
        "```python\ny = x + 1\n```\n"
    )
    blocks = python_blocks(markdown)
    assert [(code, skipped) for _, code, skipped in blocks] == [
        ("x = 1\n", False),
        ("import network_thing\n", True),
        ("also_skipped()\n", True),
        ("y = x + 1\n", False),
    ]
    assert blocks[0][0] == 4  # the line the code starts on


def test_docs_pages_exist():
    names = {page.name for page in PAGES if page.exists()}
    assert {"README.md", "quickstart.md", "classifier.md"} <= names


def page_id(page):
    """``quickstart.md``, ``gallery/sentiment.md``, ``README.md``."""
    return page.relative_to(DOCS).as_posix() if DOCS in page.parents else page.name


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_page_examples_run(page, tmp_path, monkeypatch):
    if not page.exists():
        pytest.skip(f"{page.name} is not written yet")
    markdown = page.read_text(encoding="utf-8")
    blocks = python_blocks(markdown)
    if not any(not skipped for _, _, skipped in blocks):
        pytest.skip(f"{page.name} has no runnable python blocks")
    if DATA_VARIABLE in markdown and not DATA.is_dir():
        pytest.skip(f"{page.name} reads the shared datasets, absent at {DATA}")
    monkeypatch.setenv(DATA_VARIABLE, str(DATA.resolve()))
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"docs_{page.stem}"}
    for line, code, skipped in blocks:
        if skipped:
            continue
        # Padded so tracebacks name the page and its line numbers.
        source = "\n" * (line - 1) + code
        exec(compile(source, str(page.relative_to(ROOT)), "exec"), namespace)
