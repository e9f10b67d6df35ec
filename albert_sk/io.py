"""Inputs in the forms data scientists hold them, turned into plain python records.

numpy and pandas only: no Keras here.
"""

import os
from dataclasses import dataclass
from importlib import resources

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
                f"pairs, but got an array of shape {X.shape}."
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
            f"{type(X).__name__}."
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
            else list(zip(*(X[c].tolist() for c in X.columns)))
        )
    else:
        rows = _rows(X, who)
    if not rows:
        raise InputError(
            f"{who} needs at least one text, but got an empty input (0 rows)."
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
        # Split on "\n" only: the IMDb file holds U+0085, which str.splitlines breaks at.
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
    """GLUE SST-2 ``train.tsv`` (``sentence<TAB>label`` with a header) as a DataFrame."""
    frame = pd.read_csv(
        os.fspath(path), sep="\t", quoting=3, nrows=n, dtype={"sentence": str}
    )
    return frame.rename(columns={"sentence": "text"})
