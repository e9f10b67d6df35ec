"""Unlabelled corpora for pretraining: a list, a text file or a stream of documents.

No Keras here. Documents are read lazily and handed out in chunks of about a
fixed number of characters, so a corpus larger than memory can be streamed.
"""

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
