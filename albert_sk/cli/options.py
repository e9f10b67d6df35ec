"""Options and settings several ``albert-sk`` subcommands share: progress
bars (``--verbose``/``--quiet``), ``--plots DIR`` and ``--set KEY=VALUE``."""

import contextlib
import json
import os
import sys

from albert_sk.cli.data import CommandError


def add_progress_arguments(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-v",
        "--verbose",
        action="store_const",
        const=True,
        dest="progress",
        help="show progress bars even when stderr is not a terminal",
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_const",
        const=False,
        dest="progress",
        help="no progress bars (the default when stderr is not a terminal)",
    )


def show_progress(args):
    """``--verbose``/``--quiet`` if given, else whether stderr is a terminal."""
    choice = getattr(args, "progress", None)
    if choice is not None:
        return choice
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


@contextlib.contextmanager
def progress_to_stderr(estimator, on):
    """Run with ``estimator.verbose = on``; Keras' bars (stdout) go to stderr.

    stdout stays for results (a prediction table piped to a file).
    """
    estimator.set_params(verbose=int(on))
    try:
        if on:
            with contextlib.redirect_stdout(sys.stderr):
                yield
        else:
            yield
    finally:
        estimator.set_params(verbose=0)


def add_plots_argument(parser, what):
    parser.add_argument("--plots", metavar="DIR", help=f"write {what} as PNGs here")


def plots_folder(args):
    if not getattr(args, "plots", None):
        return None
    folder = os.path.abspath(args.plots)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise CommandError(
            f"--plots expects a folder, but {folder!r} is a file. Pass a folder."
        )
    os.makedirs(folder, exist_ok=True)
    return folder


def parse_settings(pairs):
    """``["epochs=3", "backbone=tiny"]`` -> ``{"epochs": 3, "backbone": "tiny"}``.

    Values are parsed as JSON when they can be (numbers, true/false/null,
    lists, dicts), and kept as strings otherwise.
    """
    settings = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CommandError(
                f"--set expects key=value (e.g. --set epochs=3), got {pair!r}."
            )
        try:
            settings[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            settings[key.strip()] = value
    return settings
