"""Where the tests find the real datasets.

The full datasets live in ../shared/data next to the repository (see its
SOURCES.md); set ``ALBERT_SK_TEST_DATA`` to another folder to use that one
instead, or to a missing one (``ALBERT_SK_TEST_DATA=/nonexistent``) to see
what runs where the shared data is absent. Where a file is absent, the small
slice of it bundled in tests/data/ stands in (the WNUT-17 and SQuAD files
only: tests/data/SOURCES.md says how each was cut and why the others are not
bundled); tests of a file with neither skip.
"""

import os
from pathlib import Path

import pytest

VARIABLE = "ALBERT_SK_TEST_DATA"
DATA = Path(
    os.environ.get(VARIABLE) or Path(__file__).resolve().parents[2] / "shared" / "data"
)
BUNDLED = Path(__file__).resolve().parent / "data"


def require(path):
    """``path`` (a file under DATA) if present, else its bundled slice, else skip."""
    path = Path(path)
    if path.exists():
        return path
    slice_ = BUNDLED / path.relative_to(DATA)
    if slice_.is_file():
        return slice_
    pytest.skip(f"shared data file {path} is not available")


def bundled(path):
    """Whether ``path`` (from :func:`require`) is a bundled slice, not the full file."""
    return BUNDLED in Path(path).parents
