"""Run docs pages as tests/test_docs.py does and write what they print and plot.

    python docs/render_outputs.py docs/albert.md docs/gallery/*.md

Each page's ```python blocks run in order in one namespace, in a scratch
folder (as in the docs test, with warnings as errors). What a block prints is
written under it as a ```text block after the line ``<!-- output -->``,
replacing the one an earlier run wrote; a block that prints nothing gets
none. PNG files a page saves in its working folder are copied to
``images/`` beside the page, where the page shows them. The site shows these
outputs; the docs test checks that the code runs, so rerun this script after
changing a page.
"""

import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_docs import python_blocks  # noqa: E402

OUTPUT_MARK = "<!-- output -->"
DATA = ROOT.parent / "shared" / "data"


def run_blocks(page):
    """What each runnable block of ``page`` prints, keyed by its first line."""
    namespace = {"__name__": f"docs_{page.stem}"}
    printed = {}
    for line, code, skipped in python_blocks(page.read_text(encoding="utf-8")):
        if skipped:
            continue
        start, buffer = time.perf_counter(), io.StringIO()
        with contextlib.redirect_stdout(buffer):
            source = "\n" * (line - 1) + code
            exec(compile(source, str(page), "exec"), namespace)
        printed[line] = buffer.getvalue()
        print(f"{page.name}:{line}: {time.perf_counter() - start:.1f} s")
    return printed


def with_outputs(markdown, printed):
    """``markdown`` with each block's output under it (old outputs replaced)."""
    lines, out, i = markdown.splitlines(), [], 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped == OUTPUT_MARK:  # an earlier run's output: drop it
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                i += 1
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                i += 1
            i += 1
            while out and not out[-1].strip():
                out.pop()
            continue
        if stripped.startswith("```python"):
            end = i + 1
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            out += lines[i : end + 1]
            text = printed.get(i + 2, "").rstrip()
            if text:
                out += ["", OUTPUT_MARK, "```text", *text.splitlines(), "```"]
            i = end + 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out) + "\n"


def main(pages):
    warnings.simplefilter("error")
    for module in ("tensorflow", "keras", "keras_hub", "google.protobuf"):
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
    warnings.filterwarnings("ignore", category=FutureWarning, module="keras")
    os.environ.setdefault("ALBERT_SK_DATA", str(DATA))
    here = Path.cwd()
    for name in pages:
        page = Path(name).resolve()
        with tempfile.TemporaryDirectory() as folder:
            os.chdir(folder)
            try:
                printed = run_blocks(page)
            finally:
                os.chdir(here)
            images = sorted(Path(folder).glob("*.png"))
            if images:
                (page.parent / "images").mkdir(exist_ok=True)
            for image in images:
                shutil.copy(image, page.parent / "images" / image.name)
                print(f"{page.name}: wrote images/{image.name}")
        markdown = page.read_text(encoding="utf-8")
        page.write_text(with_outputs(markdown, printed), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
