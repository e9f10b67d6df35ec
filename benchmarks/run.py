"""Run the benchmark suite; each script rewrites its section of benchmarks/README.md.

``python benchmarks/run.py --quick`` runs every script at a size that fits in
about 25 minutes on 2 CPU cores; ``--full`` runs the bigger versions (an hour
and more). ``--only classifier fit_memory`` picks scripts by name, and
``--no-write`` prints the tables without touching the README. Scripts that
are absent are skipped; a failing script is reported and the others still run.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name: (arguments for --quick, arguments for --full); None = not in that mode.
SCRIPTS = {
    "classifier": (["--quick"], ["--full"]),
    "fit_memory": (["--quick"], ["--full"]),
    "sst2_baseline": (["--quick"], ["--full"]),
    "techniques": (["--repeats", "1"], ["--repeats", "3"]),
    "tagger": (["--quick"], []),
    "serve": (["--quick"], ["--full"]),
    "qa": (
        ["--train-articles", "3", "--test-articles", "2", "--epochs", "2"],
        [],
    ),
    "memory": (None, []),
    "dask": (None, []),
    "pretrain": (None, []),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", dest="mode", action="store_const", const="quick")
    parser.add_argument("--full", dest="mode", action="store_const", const="full")
    parser.add_argument("--only", nargs="+", choices=sorted(SCRIPTS), default=None)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    full = args.mode == "full"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1")
    report = []
    for name, (quick_args, full_args) in SCRIPTS.items():
        if args.only and name not in args.only:
            continue
        script = HERE / f"bench_{name}.py"
        extra = full_args if full else quick_args
        if not script.exists():
            print(f"== {script.name}: not present, skipped", flush=True)
            continue
        if extra is None:
            print(f"== {script.name}: --full only, skipped", flush=True)
            continue
        if args.no_write:
            extra = [*extra, "--no-write"]
        print(f"== {script.name} {' '.join(extra)}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, str(script), *extra], env=env)
        seconds = time.perf_counter() - start
        report.append((script.name, code, seconds))
        print(f"== {script.name}: exit {code} after {seconds:.0f} s", flush=True)
    print("\nsummary:")
    for name, code, seconds in report:
        status = "ok" if code == 0 else f"FAILED ({code})"
        print(f"  {name:28s} {status:12s} {seconds:6.0f} s")
    return 1 if any(code for _, code, _ in report) else 0


if __name__ == "__main__":
    sys.exit(main())
