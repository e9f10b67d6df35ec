"""Inputs in the forms data scientists hold them, turned into plain python records.

numpy and pandas only: no Keras here.
"""

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from albert_sk.exceptions import InputError


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


@dataclass
class TextInput:
    """Texts (and second texts of pairs) as lists of ``str``, in input order."""

    texts: list
    pairs: list | None = None
    feature_names: np.ndarray | None = None

    def __len__(self):
        return len(self.texts)

    def all_texts(self):
        return self.texts + (self.pairs or [])


def _is_missing(value):
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # arrays and other containers
        return False


def _check_text(value, row, who, side=""):
    if isinstance(value, str):
        return value
    where = f"row {row}{side}"
    if _is_missing(value):
        raise InputError(
            f"{who} expects a text in every row, but {where} is missing "
            f"({value!r}). Drop or fill missing texts first, e.g. X.fillna('')."
        )
    raise InputError(
        f"{who} expects texts (str), but {where} is {type(value).__name__} "
        f"({value!r:.60}). Convert the column first, e.g. X.astype(str)."
    )


def _rows(X, who):
    """``X`` as a list of rows, refusing the forms that would be misread."""
    if isinstance(X, (str, bytes)):
        raise InputError(
            f"{who} expects a list of texts, but got a single "
            f"{type(X).__name__}. Wrap it in a list: [text]."
        )
    if isinstance(X, pd.Series):
        return X.tolist()
    if isinstance(X, np.ndarray):
        if X.ndim == 2 and X.shape[1] in (1, 2):
            return [tuple(r) if X.shape[1] == 2 else r[0] for r in X.tolist()]
        if X.ndim != 1:
            raise InputError(
                f"{who} expects a 1-D array of texts or an (n, 2) array of text "
                f"pairs, but got an array of shape {X.shape}. Pass one text per "
                "row, e.g. X.ravel() or a list of str."
            )
        return X.tolist()
    if isinstance(X, dict):
        raise InputError(
            f"{who} expects a list of texts or a DataFrame, but got a dict. "
            "Pass pd.DataFrame(your_dict) or a list of its values."
        )
    try:
        return list(X)
    except TypeError:
        raise InputError(
            f"{who} expects a list, array, Series or DataFrame of texts, but got "
            f"{type(X).__name__}. Pass the texts as a list of str."
        ) from None


def check_texts(X, who, *, allow_pairs=True):
    """Validate ``X`` and return a :class:`TextInput`.

    Accepts a list/tuple/1-D array/Series of ``str``; a DataFrame with one text
    column, or two for pairs; a list of 2-tuples, or an ``(n, 2)`` array, for
    pairs. Empty strings are valid texts.
    """
    feature_names = None
    if isinstance(X, pd.DataFrame):
        feature_names = np.asarray([str(c) for c in X.columns], dtype=object)
        n_cols = X.shape[1]
        limit = 2 if allow_pairs else 1
        if n_cols == 0 or n_cols > limit:
            shape = (
                "one text column, or two for text pairs"
                if allow_pairs
                else "one text column"
            )
            raise InputError(
                f"{who} expects a DataFrame with {shape}, but got {n_cols} columns "
                f"{list(X.columns)}. Select the text column(s), e.g. "
                f"X[[{str(X.columns[0])!r}]]."
                if n_cols
                else "X has no columns."
            )
        rows = (
            X.iloc[:, 0].tolist()
            if n_cols == 1
            else list(zip(*(X[c].tolist() for c in X.columns), strict=True))
        )
    else:
        rows = _rows(X, who)
    if not rows:
        raise InputError(
            f"{who} needs at least one text, but got an empty input (0 rows). "
            "Pass at least one text."
        )
    first_is_pair = isinstance(rows[0], (tuple, list)) and not isinstance(rows[0], str)
    if first_is_pair and not allow_pairs:
        raise InputError(
            f"{who} expects single texts, but row 0 is a {type(rows[0]).__name__}."
        )
    if not first_is_pair:
        return TextInput(
            [_check_text(r, i, who) for i, r in enumerate(rows)], None, feature_names
        )
    texts, pairs = [], []
    for i, row in enumerate(rows):
        if isinstance(row, str) or not isinstance(row, (tuple, list)) or len(row) != 2:
            raise InputError(
                f"{who} expects every row to be a (text, text) pair like row 0, but "
                f"row {i} is {row!r:.80}. Give both texts of each pair."
            )
        texts.append(_check_text(row[0], i, who, " (first text of the pair)"))
        pairs.append(_check_text(row[1], i, who, " (second text of the pair)"))
    return TextInput(texts, pairs, feature_names)


def load_sentiment_sentences(sources=("amazon", "imdb", "yelp")):
    """The UCI Sentiment Labelled Sentences shipped with albert_sk (CC BY 4.0).

    3,000 review sentences from Amazon, IMDb and Yelp labelled 1 (positive) or
    0 (negative). Kotzias et al., "From Group to Individual Labels using Deep
    Features", KDD 2015.

    Returns
    -------
    pandas.DataFrame with columns ``text``, ``label`` and ``source``.
    """
    files = {
        "amazon": "amazon_cells_labelled.txt",
        "imdb": "imdb_labelled.txt",
        "yelp": "yelp_labelled.txt",
    }
    frames = []
    for source in sources:
        if source not in files:
            raise InputError(
                f"Unknown source {source!r}; expected some of {sorted(files)}."
            )
        raw = (
            resources.files("albert_sk")
            .joinpath("data", files[source])
            .read_text("utf-8")
        )
        # Split on "\n" only: the IMDb file holds U+0085, where str.splitlines
        # would break.
        lines = [line for line in raw.split("\n") if line.strip()]
        pairs = [line.rsplit("\t", 1) for line in lines]
        frames.append(
            pd.DataFrame(
                {
                    "text": [p[0].strip() for p in pairs],
                    "label": [int(p[1]) for p in pairs],
                    "source": source,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def read_sst2(path, n=None):
    """GLUE SST-2 ``train.tsv`` (``sentence<TAB>label``, a header) as a DataFrame."""
    frame = pd.read_csv(
        os.fspath(path), sep="\t", quoting=3, nrows=n, dtype={"sentence": str}
    )
    return frame.rename(columns={"sentence": "text"})


def read_trec(path, fine=False):
    """TREC question classification (``COARSE:fine question`` lines) as a DataFrame.

    Columns ``text`` and ``label``: the coarse class (``"DESC"``, ``"LOC"``,
    ...), or ``"COARSE:fine"`` with ``fine=True``. The files are Latin-1.
    """
    with open(os.fspath(path), encoding="latin-1") as fh:
        rows = [line.rstrip("\n").split(" ", 1) for line in fh if line.strip()]
    labels = [r[0] if fine else r[0].split(":")[0] for r in rows]
    return pd.DataFrame({"text": [r[1].strip() for r in rows], "label": labels})


# === Token classification (CoNLL) ===


@dataclass
class TaggerInput:
    """Sentences as word lists, or raw texts (words filled in by the tagger)."""

    sentences: list
    texts: list | None = None  # raw strings, when X held them
    offsets: list | None = None  # per text: (starts, ends) of its words

    def __len__(self):
        return len(self.sentences) if self.texts is None else len(self.texts)

    def all_texts(self):
        return [" ".join(words) for words in self.sentences]


def _check_word(word, row, j, who):
    if not isinstance(word, str):
        raise InputError(
            f"{who} expects words (str), but sentence {row} word {j} is "
            f"{type(word).__name__} ({word!r:.60}). Convert the words to str."
        )
    if not word or any(ch.isspace() for ch in word):
        raise InputError(
            f"{who} expects words without whitespace, but sentence {row} word {j} "
            f"is {word!r:.60}. Split it into words (or drop empty words), or pass "
            "the raw text as one string instead of a word list."
        )


def check_sentences(X, who):
    """Validate tagger input and return a :class:`TaggerInput`.

    ``X`` is a list (or Series) of word lists, CoNLL style, or of raw
    strings. Word lists may be empty (a sentence without words); words must
    be non-empty strings without whitespace.
    """
    if isinstance(X, pd.DataFrame):
        if X.shape[1] != 1:
            raise InputError(
                f"{who} expects one column of word lists or texts, but got a "
                f"DataFrame with {X.shape[1]} columns {list(X.columns)}. Select "
                "that column, e.g. X['tokens']."
            )
        X = X.iloc[:, 0]
    rows = X.tolist() if isinstance(X, pd.Series) else _rows(X, who)
    if not rows:
        raise InputError(
            f"{who} needs at least one sentence, but got an empty input (0 rows). "
            "Pass at least one sentence (a word list or a string)."
        )
    if isinstance(rows[0], str):
        return TaggerInput([], [_check_text(r, i, who) for i, r in enumerate(rows)])
    sentences = []
    for i, row in enumerate(rows):
        if isinstance(row, np.ndarray):
            row = row.tolist()
        if isinstance(row, str) or not isinstance(row, (list, tuple)):
            raise InputError(
                f"{who} expects every row to be a list of words like row 0, but "
                f"row {i} is {type(row).__name__} ({row!r:.60}). Pass all "
                "sentences as word lists, or all as raw strings."
            )
        for j, word in enumerate(row):
            _check_word(word, i, j, who)
        sentences.append(list(row))
    return TaggerInput(sentences)


def utf8_error(path):
    """Where ``path`` stops being UTF-8: ``"byte 0xff at line 3"``, or None."""
    with open(os.fspath(path), "rb") as fh:
        for number, line in enumerate(fh, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as err:
                return f"byte 0x{line[err.start]:02x} at line {number}"
    return None


def not_utf8_message(path, what="file"):
    """The error for a file that is not UTF-8: where, and how to convert it."""
    return (
        f"{what} {os.fspath(path)!r} is not UTF-8 text ({utf8_error(path)}). Save "
        "the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 IN > OUT`."
    )


def _conll_fields(line):
    return line.split("\t") if "\t" in line else line.split()


def read_conll(path, columns=(0, -1), *, encoding="utf-8"):
    """Read a CoNLL file: one word per line, a blank line between sentences.

    Columns are split on tabs when a line holds one (WNUT-17), else on runs
    of spaces (CoNLL-2003). ``-DOCSTART-`` lines and whitespace-only lines
    end a sentence.

    Parameters
    ----------
    path : str or path
    columns : (int, int or None), default=(0, -1)
        Index of the word column and of the tag column (``-1``: the last);
        ``(0, 3)`` reads the NER tags of CoNLL-2003. ``None`` as the tag
        column reads words only.
    encoding : str, default="utf-8"

    Returns
    -------
    sentences : list of list of str
    tags : list of list of str, or None when the tag column is None

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from albert_sk.io import read_conll
    >>> path = Path(tempfile.mkdtemp()) / "tiny.conll"
    >>> lines = ["-DOCSTART- -X- O O", "", "Ada NNP B-NP B-PER", "sings VBZ B-VP O"]
    >>> _ = path.write_text("\\n".join(lines) + "\\n")
    >>> read_conll(path, columns=(0, 3))
    ([['Ada', 'sings']], [['B-PER', 'O']])
    """
    word_col, tag_col = columns
    need = max(c + 1 if c >= 0 else -c for c in columns if c is not None)
    sentences, tags, words, labels = [], [], [], []

    def flush():
        if words:
            sentences.append(list(words))
            tags.append(list(labels))
            words.clear()
            labels.clear()

    try:
        with open(os.fspath(path), encoding=encoding) as fh:
            lines = fh.readlines()
    except UnicodeDecodeError as err:
        where = utf8_error(path) if encoding.lower().replace("-", "") == "utf8" else err
        raise InputError(
            f"CoNLL file {os.fspath(path)!r} is not {encoding} text ({where}). "
            "Pass its encoding, e.g. encoding='latin1', or save it as UTF-8."
        ) from None
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            flush()
            continue
        fields = _conll_fields(line)
        if fields[0].startswith("-DOCSTART-"):
            flush()
            continue
        if len(fields) < need:
            raise InputError(
                f"Line {number} of {os.fspath(path)!r} has {len(fields)} "
                f"column(s) ({line!r:.60}), but columns={tuple(columns)} needs "
                f"{need}. Pass the columns of the word and the tag, e.g. "
                "columns=(0, 3) for CoNLL-2003."
            )
        words.append(fields[word_col])
        if tag_col is not None:
            labels.append(fields[tag_col])
    flush()
    return sentences, (tags if tag_col is not None else None)


def write_conll(path, sentences, *tag_columns, sep="\t"):
    """Write sentences (and any number of tag columns) as a CoNLL file.

    One ``word<sep>tag...`` line per word, a blank line after each sentence
    (the format :func:`read_conll` and ``conlleval`` read). The file is
    written to a temporary file and moved into place.

    Examples
    --------
    >>> import tempfile, os
    >>> from albert_sk.io import read_conll, write_conll
    >>> path = os.path.join(tempfile.mkdtemp(), "out.conll")
    >>> write_conll(path, [["Ada", "sings"]], [["B-PER", "O"]])
    >>> read_conll(path)
    ([['Ada', 'sings']], [['B-PER', 'O']])
    """
    who = "write_conll"
    sentences = list(sentences)
    tag_columns = [list(c) for c in tag_columns]
    for k, column in enumerate(tag_columns):
        if len(column) != len(sentences):
            raise InputError(
                f"{who} got {len(sentences)} sentences but tag column {k} has "
                f"{len(column)} rows. Pass one tag list per sentence."
            )
    lines = []
    for i, words in enumerate(sentences):
        words = list(words)
        for j, word in enumerate(words):
            _check_word(word, i, j, who)
        columns = [list(c[i]) for c in tag_columns]
        for k, tags in enumerate(columns):
            if len(tags) != len(words):
                raise InputError(
                    f"{who}: sentence {i} has {len(words)} words but tag column "
                    f"{k} has {len(tags)} tags. Pass one tag per word."
                )
            for j, tag in enumerate(tags):
                if not isinstance(tag, str) or not tag or sep in tag:
                    raise InputError(
                        f"{who}: sentence {i} word {j} has tag {tag!r} in column "
                        f"{k}; tags must be non-empty strings without {sep!r}."
                    )
        lines.extend(sep.join(row) for row in zip(words, *columns, strict=True))
        lines.append("")
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + ("\n" if lines else ""))


# === Question answering (SQuAD) ===


@dataclass
class QAInput:
    """Questions and their context passages, as lists of ``str`` in input order."""

    questions: list
    contexts: list

    def __len__(self):
        return len(self.questions)

    def all_texts(self):
        """Questions and each distinct context once (vocabulary training)."""
        return self.questions + list(dict.fromkeys(self.contexts))


_QA_COLUMNS = ("question", "context")


def _qa_field(value, row, field, who):
    if isinstance(value, str):
        if not value.strip():
            raise InputError(
                f"{who} got an empty {field} in row {row} ({value!r}). Every "
                f"question needs a non-blank question and context; drop that row."
            )
        return value
    state = "missing" if _is_missing(value) else f"{type(value).__name__}"
    raise InputError(
        f"{who} expects the {field} of each row to be a str, but row {row} has "
        f"a {state} {field} ({value!r:.60}). Convert it first, e.g. "
        f"X[{field!r}].astype(str), or drop that row."
    )


def check_qa_inputs(X, who):
    """Validate question answering input and return a :class:`QAInput`.

    ``X`` is a DataFrame with ``question`` and ``context`` columns (other
    columns, such as those of :func:`read_squad`, are ignored) or a list of
    dicts with those keys.
    """
    expected = (
        "a DataFrame with 'question' and 'context' columns, or a list of dicts "
        "with those keys"
    )
    if isinstance(X, pd.DataFrame):
        missing = [c for c in _QA_COLUMNS if c not in X.columns]
        if missing:
            raise InputError(
                f"{who} expects {expected}, but the DataFrame lacks {missing} "
                f"(columns: {[str(c) for c in X.columns]}). Rename the columns, "
                "e.g. X.rename(columns={'passage': 'context'})."
            )
        questions, contexts = X["question"].tolist(), X["context"].tolist()
    else:
        if isinstance(X, (str, bytes, dict)):
            raise InputError(
                f"{who} expects {expected}, but got a {type(X).__name__}. Wrap a "
                "single question in a list: [{'question': ..., 'context': ...}]."
            )
        try:
            rows = list(X)
        except TypeError:
            raise InputError(
                f"{who} expects {expected}, but got {type(X).__name__}."
            ) from None
        questions, contexts = [], []
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise InputError(
                    f"{who} expects {expected}, but row {i} is a "
                    f"{type(row).__name__} ({row!r:.60}). Give every row as a dict "
                    "{'question': ..., 'context': ...}."
                )
            missing = [c for c in _QA_COLUMNS if c not in row]
            if missing:
                raise InputError(
                    f"{who} expects {expected}, but row {i} lacks the keys "
                    f"{missing} (keys: {list(row)}). Give every row a 'question' "
                    "and a 'context'."
                )
            questions.append(row["question"])
            contexts.append(row["context"])
    if not questions:
        raise InputError(
            f"{who} needs at least one question, but got 0 rows. Pass at least "
            "one {'question': ..., 'context': ...} row."
        )
    questions = [_qa_field(q, i, "question", who) for i, q in enumerate(questions)]
    contexts = [_qa_field(c, i, "context", who) for i, c in enumerate(contexts)]
    return QAInput(questions, contexts)


def _answer_span(answer, context, row, who):
    """``(start, end)`` of one answer in ``context``, or None for "no answer"."""
    start = None
    if isinstance(answer, Mapping):
        if "text" not in answer:
            raise InputError(
                f"{who} expects answer dicts with a 'text' key (and optionally "
                f"'answer_start'), but the answer of row {row} has keys "
                f"{list(answer)}. Give each answer as {{'text': ..., "
                "'answer_start': ...}, or as its text."
            )
        start = answer.get("answer_start")
        answer = answer["text"]
    if _is_missing(answer) or answer == "":
        return None
    if not isinstance(answer, str):
        raise InputError(
            f"{who} expects answer texts (str), but row {row} of y holds a "
            f"{type(answer).__name__} ({answer!r:.60}). Pass the answer as text."
        )
    if start is None or _is_missing(start):
        start = context.find(answer)
        if start < 0:
            raise InputError(
                f"The answer of row {row}, {answer!r:.60}, does not occur in its "
                "context. Answers must be exact substrings of the context (same "
                "case and spacing); pass '' or None for a question without one."
            )
        return start, start + len(answer)
    if isinstance(start, bool) or not isinstance(start, (int, np.integer)):
        raise InputError(
            f"{who} expects 'answer_start' to be an int, but row {row} has "
            f"{type(start).__name__} ({start!r:.60}). Pass the character offset "
            "as an int, or leave it out to have the text located."
        )
    start = int(start)
    found = context[start : start + len(answer)] if start >= 0 else ""
    if found != answer:
        raise InputError(
            f"The answer of row {row} says answer_start={start}, but the context "
            f"there reads {found!r:.60}, not the answer {answer!r:.60}. Fix "
            "answer_start, or give the text alone to have it located."
        )
    return start, start + len(answer)


def check_qa_answers(y, inputs, who):
    """Character spans of the answers ``y`` in the contexts of ``inputs``.

    Each answer is a string, a ``{"text", "answer_start"}`` dict, or a list of
    such (several acceptable answers); ``""``, ``None`` and ``[]`` mean "no
    answer". A text without ``answer_start`` is located at its first
    occurrence. Returns one list of ``(start, end)`` per row, empty for no
    answer.
    """
    if y is None:
        raise InputError(
            f"{who}.fit needs answers y (one per question), but got y=None."
        )
    if isinstance(y, (str, bytes, Mapping)):
        raise InputError(
            f"{who} expects y as a list of answers (one per question), but got a "
            f"single {type(y).__name__}. Wrap it in a list."
        )
    y = y.tolist() if hasattr(y, "tolist") else list(y)
    if len(y) != len(inputs):
        raise InputError(
            f"X and y must have the same number of rows, but X has {len(inputs)} "
            f"questions and y has {len(y)} answers. Pass one answer per question."
        )
    spans = []
    for row, (answers, context) in enumerate(zip(y, inputs.contexts, strict=True)):
        if not isinstance(answers, (list, tuple, np.ndarray)):
            answers = [answers]
        found = [_answer_span(a, context, row, who) for a in answers]
        spans.append([s for s in found if s is not None])
    return spans


def read_squad(path):
    """A SQuAD 1.1 or 2.0 JSON file as a DataFrame, one row per question.

    Parameters
    ----------
    path : str or path
        A file in the official SQuAD format (``{"data": [{"title",
        "paragraphs": [{"context", "qas": [...]}]}]}``).

    Returns
    -------
    pandas.DataFrame
        Columns ``id``, ``title``, ``question``, ``context``, ``answers`` (a
        list of ``{"text", "answer_start"}`` dicts, empty for unanswerable
        questions) and ``is_impossible`` (always False for SQuAD 1.1). The
        frame can be passed to ``AlbertQA.fit(frame, frame["answers"])``.

    Examples
    --------
    >>> import json, tempfile
    >>> from albert_sk.io import read_squad
    >>> data = {"version": "1.1", "data": [{"title": "T", "paragraphs": [{
    ...     "context": "Paris is in France.",
    ...     "qas": [{"id": "q1", "question": "Where is Paris?",
    ...              "answers": [{"text": "France", "answer_start": 12}]}]}]}]}
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
    ...     json.dump(data, fh)
    >>> read_squad(fh.name).loc[0, ["question", "answers"]].tolist()
    ['Where is Paris?', [{'text': 'France', 'answer_start': 12}]]
    """
    path = os.fspath(path)
    with open(path, encoding="utf-8") as fh:
        try:
            dataset = json.load(fh)
        except json.JSONDecodeError as err:
            raise InputError(f"{path!r} is not a JSON file ({err}).") from None
        except UnicodeDecodeError:
            raise InputError(not_utf8_message(path, "SQuAD file")) from None
    expected = (
        "the official SQuAD format {'data': [{'title', 'paragraphs': "
        "[{'context', 'qas': [{'id', 'question', 'answers'}]}]}]}"
    )
    if not isinstance(dataset, dict) or not isinstance(dataset.get("data"), list):
        raise InputError(f"{path!r} is not in {expected}: it has no 'data' list.")
    rows = []
    try:
        for article in dataset["data"]:
            for paragraph in article["paragraphs"]:
                context = paragraph["context"]
                for qa in paragraph["qas"]:
                    impossible = bool(qa.get("is_impossible", False))
                    answers = [
                        {"text": a["text"], "answer_start": int(a["answer_start"])}
                        for a in qa.get("answers", [])
                    ]
                    rows.append(
                        {
                            "id": str(qa["id"]),
                            "title": article.get("title", ""),
                            "question": qa["question"],
                            "context": context,
                            "answers": [] if impossible else answers,
                            "is_impossible": impossible,
                        }
                    )
    except (KeyError, TypeError) as err:
        raise InputError(
            f"{path!r} is not in {expected}: question {len(rows)} lacks {err}."
        ) from None
    columns = ["id", "title", "question", "context", "answers", "is_impossible"]
    return pd.DataFrame(rows, columns=columns)


def write_squad_predictions(path, ids, answers):
    """Write predictions in the official ``{id: answer}`` JSON format, atomically.

    ``answers`` are strings, ``""`` for no answer (SQuAD 2.0). The file is
    written to a temporary file in the same folder and moved into place.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from albert_sk.io import write_squad_predictions
    >>> path = os.path.join(tempfile.mkdtemp(), "predictions.json")
    >>> _ = write_squad_predictions(path, ["q1", "q2"], ["France", ""])
    >>> with open(path) as fh:
    ...     json.load(fh)
    {'q1': 'France', 'q2': ''}
    """
    ids, answers = list(ids), list(answers)
    if len(ids) != len(answers):
        raise InputError(
            f"write_squad_predictions needs one answer per id, but got {len(ids)} "
            f"ids and {len(answers)} answers."
        )
    bad = [i for i, a in enumerate(answers) if not isinstance(a, str)]
    if bad:
        raise InputError(
            f"write_squad_predictions expects answers as str ('' for no answer), "
            f"but answer {bad[0]} is {answers[bad[0]]!r:.60}."
        )
    predictions = {str(i): a for i, a in zip(ids, answers, strict=True)}
    if len(predictions) != len(ids):
        raise InputError("write_squad_predictions got repeated question ids.")
    with atomic_write(path, "w", encoding="utf-8") as fh:
        json.dump(predictions, fh, ensure_ascii=False)
    return os.path.abspath(os.fspath(path))
