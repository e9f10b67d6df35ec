"""Atomic writes of files and folders, which every save goes through, and
values as JSON writes them.

:func:`atomic_write` (one file) and :func:`atomic_directory` /
:func:`write_directory` (a whole folder) write beside the target and move
into place on success, so a crash leaves the previous version or the
complete new one. :mod:`albert_sk.io` re-exports the three public names
(``from albert_sk.io import atomic_write`` keeps working). :func:`to_json`
turns predictions into JSON-native values, for the prediction files of
``albert-sk predict`` and the answers of ``albert-sk serve`` alike. Standard
library and numpy only.
"""

import contextlib
import math
import os
import secrets
import shutil

import numpy as np


def to_json(value):
    """``value`` with numpy arrays and scalars as JSON-native types.

    NaN and infinities become ``None`` (JSON ``null``: JSON has neither),
    dict keys strings, tuples lists, and any other object its ``str``.

    Examples
    --------
    >>> import numpy as np
    >>> from albert_sk._files import to_json
    >>> to_json({"scores": np.array([0.5, np.inf]), 1: (np.int64(2), float("nan"))})
    {'scores': [0.5, None], '1': [2, None]}
    """
    if isinstance(value, np.ndarray):
        return to_json(value.tolist())
    if isinstance(value, np.generic):
        return to_json(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _sibling(path, kind):
    """A new, unique name beside ``path`` for a temporary ``kind`` ("part", "old").

    The name holds this process's id, so a later write can tell the leftovers
    of a killed process (see :func:`_remove_stale`) from those of a live one.
    """
    folder, name = os.path.split(path)
    return os.path.join(folder, f".{name}-{os.getpid()}-{secrets.token_hex(4)}.{kind}")


def _remove_stale(path):
    """Remove temporaries beside ``path`` left by processes that no longer run."""
    if os.name != "posix":  # os.kill(pid, 0) is not a liveness probe there
        return
    folder, name = os.path.split(path)
    prefix = f".{name}-"
    for entry in os.listdir(folder):
        if not entry.startswith(prefix) or not entry.endswith((".part", ".old")):
            continue
        pid = entry[len(prefix) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # still running: maybe writing right now
        except ProcessLookupError:
            pass
        except PermissionError:  # alive, another user's
            continue
        stale = os.path.join(folder, entry)
        if os.path.isdir(stale) and not os.path.islink(stale):
            shutil.rmtree(stale, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(stale)


def _fsync(path, *, folder=False):
    flags = os.O_RDONLY
    if folder:
        if os.name != "posix":  # folders cannot be opened elsewhere
            return
        flags |= getattr(os, "O_DIRECTORY", 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _check_parent(path):
    path = os.path.abspath(os.fspath(path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot write {path!r}: folder {folder!r} does not exist. Create it first."
        )
    return path


@contextlib.contextmanager
def atomic_write(path, mode="wb", *, encoding=None):
    """Open a temporary file beside ``path``, and move it into place on success.

    The data is flushed and fsync'd before ``os.replace``, so a crash at any
    point leaves either the previous file or the complete new one, never a
    partial file; on an error the temporary file is removed, and a temporary
    left by a killed process is removed by the next write. The file gets the
    permissions of any file the user creates (``0o666`` less the umask).

    Examples
    --------
    >>> import os, tempfile
    >>> from albert_sk.io import atomic_write
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "labels.txt")
    ...     with atomic_write(path, "w", encoding="utf-8") as fh:
    ...         _ = fh.write("neg\\npos\\n")
    ...     try:  # an error while writing keeps the previous file
    ...         with atomic_write(path, "w", encoding="utf-8") as fh:
    ...             _ = fh.write("half a file")
    ...             raise RuntimeError("interrupted")
    ...     except RuntimeError:
    ...         pass
    ...     with open(path, encoding="utf-8") as fh:
    ...         print(fh.read().split(), sorted(os.listdir(folder)))
    ['neg', 'pos'] ['labels.txt']
    """
    path = _check_parent(path)
    _remove_stale(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        partial = _sibling(path, "part")
        try:  # the kernel applies the umask to 0o666, as open() does
            fd = os.open(partial, flags, 0o666)
            break
        except FileExistsError:  # pragma: no cover - a 32-bit token collided
            continue
    try:
        # The descriptor is wrapped first so an error in the caller closes it.
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(partial, path)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise


@contextlib.contextmanager
def atomic_directory(path, *, marker=None):
    """Yield a new temporary folder beside ``path``; on success swap it in.

    The caller writes the whole folder's content into the yielded folder.
    On success its files are fsync'd, the previous folder at ``path`` (if
    any) is renamed aside, the new one renamed to ``path``, and the previous
    one removed: files of an earlier write never survive into the new one.
    On an error, or if the process is killed while writing, the previous
    folder stays untouched; the temporary is removed then, or by the next
    write. Only a crash between the two renames (microseconds) can leave
    ``path`` missing, with the previous folder beside it as ``.NAME-*.old``.

    ``marker`` guards against replacing a folder that is not an earlier
    write: when given, an existing non-empty folder at ``path`` must hold a
    file of that name (e.g. ``"config.json"``), else ``FileExistsError``.

    Examples
    --------
    >>> import os, tempfile
    >>> from albert_sk.io import atomic_directory
    >>> with tempfile.TemporaryDirectory() as parent:
    ...     path = os.path.join(parent, "export")
    ...     for files in (["config.json", "old.bin"], ["config.json", "new.bin"]):
    ...         with atomic_directory(path, marker="config.json") as folder:
    ...             for name in files:
    ...                 open(os.path.join(folder, name), "w").close()
    ...     print(sorted(os.listdir(path)))  # old.bin did not survive
    ['config.json', 'new.bin']
    """
    path = _check_parent(path)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise FileExistsError(
            f"Cannot write the folder {path!r}: a file is there. Remove it or "
            "choose another path."
        )
    if (
        marker is not None
        and os.path.isdir(path)
        and os.listdir(path)
        and not os.path.isfile(os.path.join(path, marker))
    ):
        raise FileExistsError(
            f"Cannot write to {path!r}: writing replaces the whole folder, and "
            f"this one holds other files (no {marker!r}, so it is not an earlier "
            "export). Choose a new or empty folder."
        )
    _remove_stale(path)
    scratch = _sibling(path, "part")
    os.mkdir(scratch, 0o777)  # the umask applies, as for any new folder
    try:
        yield scratch
        for root, _, files in os.walk(scratch):
            for name in files:
                _fsync(os.path.join(root, name))
            _fsync(root, folder=True)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    old = _sibling(path, "old") if os.path.lexists(path) else None
    if old is not None:
        os.rename(path, old)
    try:
        os.rename(scratch, path)
    except BaseException:
        if old is not None:  # put the previous folder back
            os.rename(old, path)
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    _fsync(os.path.dirname(path), folder=True)
    if old is not None:
        if os.path.islink(old):
            os.unlink(old)
        else:
            shutil.rmtree(old, ignore_errors=True)


def write_directory(path, write, *, marker=None):
    """Run ``write(folder)`` on a temporary sibling of ``path``, then swap it in.

    The whole folder is replaced (:func:`atomic_directory`): files of an
    earlier write never survive, and a crash leaves the earlier folder
    untouched. With ``marker``, a non-empty folder without that file is
    refused (it is not ours to replace). Returns the absolute path.

    Examples
    --------
    >>> import os, tempfile
    >>> from albert_sk.io import write_directory
    >>> def write(folder):
    ...     with open(os.path.join(folder, "config.json"), "w") as fh:
    ...         _ = fh.write("{}")
    >>> with tempfile.TemporaryDirectory() as parent:
    ...     out = write_directory(os.path.join(parent, "model"), write,
    ...                           marker="config.json")
    ...     print(os.path.basename(out), os.listdir(out))
    ...     os.mkdir(os.path.join(parent, "photos"))
    ...     open(os.path.join(parent, "photos", "cat.jpg"), "w").close()
    ...     try:  # a folder that is not an earlier write is never replaced
    ...         write_directory(os.path.join(parent, "photos"), write,
    ...                         marker="config.json")
    ...     except FileExistsError:
    ...         print(os.listdir(os.path.join(parent, "photos")))
    model ['config.json']
    ['cat.jpg']
    """
    with atomic_directory(path, marker=marker) as folder:
        write(folder)
    return os.path.abspath(os.fspath(path))
