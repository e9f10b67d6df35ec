"""Shared helpers for the benchmark scripts: machine description and README tables."""

import argparse
import os
import platform
import re
import subprocess
import time
from pathlib import Path

README = Path(__file__).with_name("README.md")
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def machine():
    """One line naming the CPU, cores, backend and library versions."""
    import keras
    import sklearn

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            names = [
                line.split(":", 1)[1].strip()
                for line in fh
                if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    versions = [f"keras {keras.__version__}", f"scikit-learn {sklearn.__version__}"]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        versions.append(f"tensorflow {tf.__version__}")
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"backend {backend}, " + ", ".join(versions)
    )


def git_revision():
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def markdown_table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name, body):
    """Replace (or append) the section ``name`` of benchmarks/README.md.

    Sections sit between ``<!-- name:start -->`` and ``<!-- name:end -->``,
    so each script rewrites only its own table.
    """
    stamp = time.strftime("%Y-%m-%d")
    block = (
        f"<!-- {name}:start -->\n{body.rstrip()}\n\n"
        f"_Measured {stamp} at commit {git_revision()} on: {machine()}._\n"
        f"<!-- {name}:end -->"
    )
    text = README.read_text() if README.exists() else "# Benchmarks\n"
    pattern = re.compile(
        rf"<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->", re.S
    )
    text = (
        pattern.sub(lambda _: block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n" + block + "\n"
    )
    README.write_text(text)
    print(body)


def arguments(doc, *, modes=False):
    """The command line every benchmark script starts from: ``--no-write``
    (print the table only) and, with ``modes``, ``--quick`` / ``--full``."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    if modes:
        parser.add_argument("--quick", dest="mode", action="store_const", const="quick")
        parser.add_argument("--full", dest="mode", action="store_const", const="full")
    parser.add_argument("--no-write", action="store_true", help="print only")
    return parser


def publish(name, body, no_write=False):
    """Print ``body``, or write it as section ``name`` of benchmarks/README.md."""
    if no_write:
        print(body)
    else:
        write_section(name, body)
