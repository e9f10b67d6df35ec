"""Every ```python block of README.md, docs/*.md and docs/gallery/*.md runs.

The blocks of one file run in order in one namespace (later blocks use what
earlier ones defined), in a scratch working directory. A block preceded by
the HTML comment ``<!-- no-test -->`` is skipped: use it for examples that
need the network or a GPU. New pages in docs/ and docs/gallery/ are picked up
automatically. A page that reads the shared datasets names the folder with the
``ALBERT_SK_DATA`` environment variable (set here to ../shared/data, or to
``ALBERT_SK_TEST_DATA`` where that is set, see tests/_data.py) and is skipped
where that folder is absent: the pages read the full datasets, not the slices
bundled in tests/data/.

The API reference (docs/api/*.rst) promises that every docstring it shows has
an ``Examples`` section; ``--doctest-modules`` runs them, and
:func:`test_every_api_docstring_has_examples` checks that none is missing.
"""

import importlib
import inspect
import os
import re
import textwrap
from pathlib import Path

import pytest
from _data import DATA as TEST_DATA

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = (
    sorted(DOCS.glob("*.md")) + sorted(DOCS.glob("gallery/*.md")) + [ROOT / "README.md"]
)
SKIP_MARK = "<!-- no-test -->"
DATA_VARIABLE = "ALBERT_SK_DATA"
DATA = Path(os.environ.get(DATA_VARIABLE, TEST_DATA))


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


# === The API reference: every docstring it shows has Examples ===

API_PAGES = sorted((DOCS / "api").glob("*.rst"))
DIRECTIVE = re.compile(
    r"^\.\. (currentmodule|autofunction|autoclass|autoexception)::\s*(\S+)\s*$"
)
OPTION = re.compile(r"^\s+:([\w-]+):")


def class_members(cls, inherited):
    """``{name: member}`` of the methods and properties ``:members:`` shows.

    Public names whose defining class (the first in the MRO) is albert_sk's,
    only ``cls``'s own without ``inherited``. Members without a docstring of
    their own are left out: autodoc hides them. The members albert_sk
    inherits from scikit-learn (``get_params``, ``score``) are scikit-learn's
    to document; an override of one (``set_params``) is albert_sk's.
    """
    found = {}
    for name in dir(cls):
        owner = next((k for k in cls.__mro__ if name in vars(k)), None)
        if name.startswith("_") or owner is None:
            continue
        if not owner.__module__.startswith("albert_sk."):
            continue
        if owner is not cls and not inherited:
            continue
        member = vars(owner)[name]
        if isinstance(member, (classmethod, staticmethod)):
            member = member.__func__
        if (inspect.isfunction(member) or isinstance(member, property)) and (
            member.__doc__ is not None
        ):
            found[name] = member
    return found


def api_objects():
    """``[(name, object)]`` of everything docs/api/*.rst documents.

    The objects of the ``autofunction``, ``autoclass`` and ``autoexception``
    directives (under the page's last ``currentmodule``) and, for an
    ``autoclass`` with ``:members:``, its :func:`class_members`.
    """
    objects = []
    for page in API_PAGES:
        module = None
        lines = page.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            match = DIRECTIVE.match(line)
            if match is None:
                continue
            kind, name = match.groups()
            if kind == "currentmodule":
                module = name
                continue
            obj = importlib.import_module(module)
            for part in name.split("."):
                obj = getattr(obj, part)
            objects.append((f"{module}.{name}", obj))
            options = set()
            for option in lines[i + 1 :]:
                found = OPTION.match(option)
                if found is None:
                    break
                options.add(found.group(1))
            if kind == "autoclass" and "members" in options:
                members = class_members(obj, "inherited-members" in options)
                objects.extend(
                    (f"{module}.{name}.{attr}", member)
                    for attr, member in sorted(members.items())
                )
    return objects


def has_examples(doc):
    """True when numpydoc ``doc`` has an ``Examples`` section with ``>>>`` lines."""
    parts = re.split(r"^Examples\n-{8}$", inspect.cleandoc(doc or ""), flags=re.M)
    return len(parts) > 1 and ">>>" in parts[-1]


def test_has_examples_reads_numpydoc_sections():
    assert has_examples("Summary.\n\n    Examples\n    --------\n    >>> 1\n    1\n")
    assert not has_examples("Summary.\n\nExamples\n--------\nNone yet.\n")
    assert not has_examples("See the Examples below.\n")
    assert not has_examples(None)


def test_every_api_docstring_has_examples():
    objects = api_objects()
    names = {name for name, _ in objects}
    # The directives were read: functions, classes, exceptions, members.
    assert {
        "albert_sk.load",
        "albert_sk.io.read_conll",
        "albert_sk.exceptions.InputError",
        "albert_sk.server.Limits",
        "albert_sk.AlbertTagger.predict_entities",
        "albert_sk.AlbertClassifier.save",
        "albert_sk.AlbertClassifier.set_params",  # EfficiencyMixin's override
        "albert_sk.exceptions.ParameterError",
    } <= names
    assert "albert_sk.AlbertClassifier.get_params" not in names  # scikit-learn's
    missing = [name for name, obj in objects if not has_examples(obj.__doc__)]
    assert not missing, (
        f"{len(missing)} docstrings of the API reference have no Examples "
        f"section with >>> lines: {missing}"
    )
