"""Checks of what users pass to ``fit``/``predict``, into canonical records.

Texts, text pairs, word lists, QA questions and contexts, answers, targets
and sample weights, from lists, numpy arrays, Series and DataFrames. Every
error names what was expected, what was received, the row, and the fix.
numpy and pandas only: no Keras here.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from albert_sk.exceptions import InputError


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


# === Token classification ===


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


def check_word(word, row, j, who):
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
        return TaggerInput([], [_check_text(r, i, who) for i, r in enumerate(rows)], [])
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
            check_word(word, i, j, who)
        sentences.append(list(row))
    return TaggerInput(sentences)


# === Question answering ===


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
                f"{who} expects {expected}, but got {type(X).__name__}. Pass a "
                "list of {'question': ..., 'context': ...} dicts or a DataFrame "
                "with question and context columns."
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


# === Targets and weights ===


def check_missing_targets(y, who):
    """Raise naming the first row whose target is None/NaN."""
    missing = pd.isna(
        pd.DataFrame(np.asarray(y, dtype=object).reshape(len(y), -1))
        if np.ndim(y) > 1
        else pd.Series(list(y))
    )
    missing = np.asarray(missing).reshape(len(y), -1).any(axis=1)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InputError(
            f"{who} got a missing target (None/NaN) in row {row} of y. Drop the "
            "rows without a target, or fill them, before fit."
        )


def check_sample_weight(sample_weight, n):
    """``sample_weight`` as float32, one finite weight >= 0 per row, or None."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype="float32")
    if weights.ndim != 1 or len(weights) != n:
        raise InputError(
            f"sample_weight must be a 1-D array with one weight per text "
            f"({n}), but got shape {weights.shape}. Pass one weight per row "
            "of X."
        )
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if len(bad):
        raise InputError(
            f"sample_weight must be finite and >= 0, but row {bad[0]} is "
            f"{weights[bad[0]]}. Fix or drop that weight."
        )
    return weights
