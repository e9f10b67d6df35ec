"""What the ``albert-sk`` command writes to stderr besides its results.

One line per warning and per error, where each data row a message names
also gets its line in the ``--data`` file; one line for Ctrl-C; and none of
TensorFlow's C++ start-up lines. :mod:`albert_sk.cli` runs the subcommands
inside these. Standard library only at import time: TensorFlow loads when
:func:`load_tensorflow_quietly` is called.
"""

import os
import re
import sys
import tempfile


def one_line_warnings(prog, command, data=None):
    """A ``warnings.showwarning`` that prints ``PROG CMD: warning: Category:
    message`` lines, rows of ``data`` with their file lines."""

    def show(message, category, filename, lineno, file=None, line=None):
        text = name_lines(" ".join(str(message).split()), data)
        name = category.__name__
        print(f"{prog} {command}: warning: {name}: {text}", file=sys.stderr)

    return show


_ROW = re.compile(r"\brow (\d+)( of [Xy]\b)?")
_ROWS = re.compile(r"\brows \[(\d+(?:, \d+)*)(, \.\.\.)?\]")


def name_lines(message, data):
    """``message`` with the file line of each data row it names.

    Rows count from 0 in the data (as in Python); a user looks for them in
    the ``--data`` file: "row 5" becomes "row 5 (line 7 of train.csv)".
    Files without a line per row (Parquet, SQuAD JSON) leave it as it is.
    """
    if not data or not ("row " in message or "rows [" in message):
        return message
    from albert_sk.cli.data import row_lines

    lines = row_lines(data)
    if not lines:
        return message
    name = os.path.basename(os.fspath(data))

    def one(match):
        row = int(match.group(1))
        if row >= len(lines):
            return match.group(0)
        return f"{match.group(0)} (line {lines[row]} of {name})"

    def several(match):
        rows = [int(r) for r in match.group(1).split(", ")]
        if any(row >= len(lines) for row in rows):
            return match.group(0)
        shown = ", ".join(str(lines[row]) for row in rows)
        more = ", ..." if match.group(2) else ""
        noun = "line" if len(rows) == 1 and not more else "lines"
        return f"{match.group(0)} ({noun} {shown}{more} of {name})"

    return _ROW.sub(one, _ROWS.sub(several, message))


# TensorFlow's C++ libraries write to stderr while they load: absl's notice
# that logging is not initialised yet, then records such as "I0000 00:00:...
# port.cc:153] oneDNN custom operations are on". Static initialisers of the
# shared libraries write them, before any log level can be set (and the
# profiler plugin carries its own copy of absl, so they come twice);
# TF_CPP_MIN_LOG_LEVEL only reaches what is logged later (the E0000 line of a
# failed cuInit on a machine without a GPU).
_ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called"
_LOG_RECORD = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d+(\.\d+)?\s+\d+ [^:\s]+:\d+\] ")


def drop_log_records(text, min_level):
    """``text`` without the C++ log records below ``min_level`` (as
    TF_CPP_MIN_LOG_LEVEL: 1 drops INFO, 2 WARNING too, 3 ERROR too) and the
    lines that continue them; other lines are kept."""
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith(_ABSL_NOTICE):
            dropping = False
            if min_level > 0:
                continue
        elif _LOG_RECORD.match(line):
            dropping = "IWEF".index(line[0]) < min_level
        if not dropping:
            kept.append(line)
    return "".join(kept)


def load_tensorflow_quietly():
    """Import TensorFlow, dropping its start-up lines below TF_CPP_MIN_LOG_LEVEL.

    Only file descriptor 2 sees those lines, so it points at a temporary
    file while TensorFlow loads; what is not a log record below the level
    (a Python warning, an error) is written to stderr afterwards. A no-op
    once TensorFlow is loaded, and with TF_CPP_MIN_LOG_LEVEL=0.
    """
    try:
        level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        level = 0
    if "tensorflow" in sys.modules or level <= 0:
        return
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to redirect (a detached process)
        import tensorflow  # noqa: F401

        return
    with tempfile.TemporaryFile() as captured:
        try:
            os.dup2(captured.fileno(), 2)
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
            sys.stderr.write(drop_log_records(text, level))


def interrupted(args):
    """What a Ctrl-C left behind, in one line."""
    if args.command == "fit":
        return "interrupted (Ctrl-C); no model was saved."
    if args.command == "pretrain" and getattr(args, "checkpoint_dir", None):
        return (
            "interrupted (Ctrl-C); the same command resumes from the last "
            f"checkpoint in {args.checkpoint_dir}."
        )
    return "interrupted (Ctrl-C)."
