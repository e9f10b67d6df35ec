"""Unlabelled corpora for pretraining: a list, a text file or a stream of documents.

No Keras here. Documents are read lazily and handed out in chunks of about a
fixed number of characters, so a corpus larger than memory can be streamed.
"""

import itertools
import os

from albert_sk.exceptions import InputError
from albert_sk.io import utf8_error


class Corpus:
    """Documents of a list, a text file or an iterable, read lazily.

    A one-shot iterator (a generator) can be read once: ``reopen`` refuses a
    second pass.
    """

    def __init__(self, corpus, doc_sep):
        self.doc_sep = doc_sep
        self.path = self.items = self.iterator = None
        corpus = estimator_documents(corpus)
        if isinstance(corpus, (str, os.PathLike)):
            path = os.fspath(corpus)
            if not os.path.isfile(path):
                raise InputError(
                    f"corpus={path!r} is not an existing file. Pass a path to a "
                    "UTF-8 text file, a list of documents, or an iterable of strings."
                )
            self.path = path
        elif isinstance(corpus, (bytes, dict)) or not hasattr(corpus, "__iter__"):
            raise InputError(
                "corpus must be a list of documents (str), a path to a text file "
                f"or an iterable of strings, but got {type(corpus).__name__}. "
                "Pass the documents as a list of str."
            )
        elif iter(corpus) is corpus:
            self.iterator = corpus
        else:
            self.items = corpus
        self.one_shot = self.iterator is not None
        self._used = False

    def describe(self):
        if self.path is not None:
            return f"file {os.path.abspath(self.path)} ({os.path.getsize(self.path)} B)"
        if self.one_shot:
            return "a stream"
        if hasattr(self.items, "__len__"):
            return f"{len(self.items)} documents"
        return "an iterable"

    def documents(self):
        """Yield ``(index, text)`` for every non-blank document."""
        if self.one_shot:
            if self._used:
                raise InputError(
                    "The corpus is a one-shot iterator (e.g. a generator) and was "
                    "already read. Pass a list, a file path, or an object whose "
                    "__iter__ starts over, to read it more than once."
                )
            self._used = True
            source = enumerate(self.iterator)
        elif self.path is not None:
            source = self._file_documents()
        else:
            source = enumerate(self.items)
        for index, doc in source:
            if not isinstance(doc, str):
                raise InputError(
                    f"The corpus must hold documents as str, but document {index} "
                    f"is {type(doc).__name__} ({doc!r:.60}). Convert or drop it."
                )
            if doc.strip():
                yield index, doc

    def replay(self, read, rest):
        """Make a one-shot corpus readable again from its start: the
        documents ``read`` from it, then ``rest`` (the documents after them)."""
        self.iterator = itertools.chain(read, rest)
        self._used = False

    def _file_documents(self):
        index, block = 0, []
        with open(self.path, encoding="utf-8") as fh:
            try:
                for line in fh:
                    if self.doc_sep == "line":
                        if line.strip():
                            yield index, line.strip()
                            index += 1
                    elif line.strip():
                        block.append(line.rstrip("\n"))
                    elif block:
                        yield index, "\n".join(block)
                        index, block = index + 1, []
            except UnicodeDecodeError:
                raise InputError(
                    f"corpus file {self.path!r} is not UTF-8 text "
                    f"({utf8_error(self.path)}). Convert it, e.g. "
                    "`iconv -f latin1 -t utf-8`, or pass the decoded documents as "
                    "a list."
                ) from None
        if block:
            yield index, "\n".join(block)

    def chunks(self, max_chars):
        """Lists of documents of about ``max_chars`` characters each."""
        chunk, size = [], 0
        for _, doc in self.documents():
            chunk.append(doc)
            size += len(doc)
            if size >= max_chars:
                yield chunk
                chunk, size = [], 0
        if chunk:
            yield chunk


def estimator_documents(X):
    """The documents in an estimator's ``X``; any other corpus is returned as is.

    So ``AlbertPretrainer.fit(X_train)`` pretrains on the texts a fine-tuning
    estimator will see: a DataFrame or Series of text columns (a row's cells,
    a text pair among them, are the consecutive sentences of one document;
    iterating a DataFrame would give its column names), pairs ``(a, b)``,
    a tagger's word lists (joined by spaces) and QA rows ``{"question",
    "context"}`` (each distinct context once: the text the answers are in).

    >>> import pandas as pd
    >>> estimator_documents(pd.DataFrame({"a": ["Hi.", "Yo."], "b": ["Ok.", "No."]}))
    ['Hi.\\nOk.', 'Yo.\\nNo.']
    >>> estimator_documents([["New", "York"], ["Paris"]])
    ['New York', 'Paris']
    >>> estimator_documents([{"question": "Q?", "context": "C."}] * 2)
    ['C.']
    """
    if hasattr(X, "iloc") and hasattr(X, "columns"):  # a DataFrame
        return ["\n".join(_cells(row, i)) for i, row in enumerate(X.itertuples(False))]
    if hasattr(X, "iloc"):  # a Series
        return list(X)
    if isinstance(X, (str, os.PathLike, bytes, dict)) or not hasattr(X, "__getitem__"):
        return X  # a path, a stream or another iterable: Corpus checks it
    try:
        first = next((x for x in X if x is not None), None)
    except TypeError:
        return X
    if isinstance(first, dict):
        contexts = {}
        for i, row in enumerate(X):
            if not isinstance(row, dict) or not isinstance(row.get("context"), str):
                raise InputError(
                    f"QA rows must be dicts with a 'context' str, but row {i} is "
                    f"{row!r:.80}. Pass {{'question': ..., 'context': ...}} rows."
                )
            contexts.setdefault(row["context"], None)
        return list(contexts)
    if isinstance(first, (list, tuple)):
        join = "\n".join if isinstance(first, tuple) else " ".join
        return [join(_cells(row, i)) for i, row in enumerate(X)]
    return X


def _cells(row, index):
    """The str cells of ``row`` (row ``index`` of an estimator's ``X``)."""
    bad = [cell for cell in row if not isinstance(cell, str)]
    if bad:
        cell = bad[0]
        what = (
            "a missing value (None or NaN)"
            if cell is None or cell != cell
            else f"{type(cell).__name__} ({cell!r:.60})"
        )
        raise InputError(
            f"Row {index} of the corpus holds {what} where text was expected. "
            "Drop or fill missing texts, or convert the column to str, before "
            "pretraining."
        )
    return list(row)
