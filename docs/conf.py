"""Sphinx configuration of the albert_sk documentation site.

Build it with ``python -m sphinx -W -b html docs docs/_build/html`` (the
``docs`` extra installs what it needs). The Markdown pages are read as they are
by myst-parser; the API reference is generated from the numpydoc docstrings.
"""

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Importing the estimators starts TensorFlow: keep its start-up quiet.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import albert_sk  # noqa: E402

project = "albert_sk"
author = "the albert_sk authors"
copyright = "the albert_sk authors, Apache-2.0"  # noqa: A001
release = albert_sk.__version__
version = release

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# === Markdown ===
myst_enable_extensions = ["colon_fence"]
# `## Heading` gets an anchor, so `[text](page.md#heading)` resolves.
myst_heading_anchors = 3

# === API reference ===
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
autosummary_generate = False
# The class pages list their methods with autodoc (:members:), not numpydoc's
# autosummary tables, which would need a stub page per method.
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False
# The page outline lists "fit()", not "AlbertClassifier.fit()".
toc_object_entries_show_parents = "hide"

# === HTML ===
html_theme = "pydata_sphinx_theme"
html_title = f"albert_sk {release}"
html_theme_options = {
    "navbar_end": ["theme-switcher"],  # the search field is in the navbar
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
# Section navigation where a section has pages (the API reference, the
# gallery); the top-level pages use the width for their code and tables.
html_sidebars = {"*": [], "api/*": ["sidebar-nav-bs"], "gallery/*": ["sidebar-nav-bs"]}
html_static_path = []
html_show_sourcelink = False

# === Pages written by others, listed before they exist ===
# docs/cli.md and docs/serving.md are named in index.md's toctree; until a page
# exists its line is dropped, so the build neither fails on a missing page nor,
# once it lands, on a page that no toctree lists.
OPTIONAL_PAGES = ("cli", "serving")


def drop_missing_pages(app, docname, source):
    if docname != "index":
        return
    missing = [
        page
        for page in OPTIONAL_PAGES
        if not (Path(app.srcdir) / f"{page}.md").exists()
    ]
    lines = source[0].split("\n")
    source[0] = "\n".join(line for line in lines if line.strip() not in missing)


# === Links to repository files that the site shows as pages ===
# The Markdown pages link to ../benchmarks/README.md and ../CHANGELOG.md so the
# links work where the files are read as they are (a repository browser); on
# the site those files are the pages benchmarks and changelog.
INCLUDED_FILES = {
    "benchmarks/README.md": "benchmarks.md",
    "CHANGELOG.md": "changelog.md",
}
LINK = re.compile(r"\]\(([^)\s#]+)(#[^)\s]*)?\)")


def relink(text, written_in, page):
    """Links of ``text`` (written in folder ``written_in``) as seen from ``page``."""
    srcdir = ROOT / "docs"

    def one(match):
        if "://" in match.group(1):
            return match.group(0)
        target = (written_in / match.group(1)).resolve()
        for file, included in INCLUDED_FILES.items():
            if target == ROOT / file:
                target = srcdir / included
        if (
            written_in == page
            and target.parent != srcdir
            and srcdir not in target.parents
        ):
            return match.group(0)
        new = os.path.relpath(target, page)
        return f"]({new}{match.group(2) or ''})"

    return LINK.sub(one, text)


def link_included_files(app, docname, source):
    page = Path(app.srcdir, docname).parent
    source[0] = relink(source[0], page, page)


def link_from_included_file(app, relative_path, parent_docname, content):
    # An included file's links are relative to where it lives (CHANGELOG.md
    # links docs/cli.md); the page that includes it sits in docs/.
    included = Path(app.srcdir, relative_path).resolve()
    page = Path(app.srcdir, parent_docname).parent
    content[0] = relink(content[0], included.parent, page)


# === API reference: what scikit-learn documents ===
# Members an estimator inherits from scikit-learn (get_params, set_params,
# set_output, metadata routing) are documented on scikit-learn's site, and
# their docstrings cross-reference its glossary, which this site lacks.
def skip_sklearn_members(app, what, name, obj, skip, options):
    module = getattr(obj, "__module__", None) or ""
    if module == "sklearn" or module.startswith("sklearn."):
        return True
    return None


def setup(app):
    app.connect("source-read", drop_missing_pages)
    app.connect("source-read", link_included_files)
    app.connect("include-read", link_from_included_file)
    app.connect("autodoc-skip-member", skip_sklearn_members)
