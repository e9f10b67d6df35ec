"""Exceptions and warnings raised by albert_sk.

Every error says what was expected, what was received (with the row index when
the problem is in the data) and how to fix it.
"""

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError


class AlbertSkError(Exception):
    """Base class of every albert_sk exception."""


class InputError(AlbertSkError, ValueError):
    """The data passed to ``fit``/``predict`` does not have the expected form."""


class NotFittedError(AlbertSkError, _SklearnNotFittedError):
    """The estimator is used before ``fit``; catchable as sklearn's error."""


class ModelFileError(AlbertSkError, ValueError):
    """A saved model file is missing, truncated, or was not written by albert_sk."""


class TruncationWarning(UserWarning):
    """Some inputs were longer than ``max_length`` and were cut."""


class VocabularyWarning(UserWarning):
    """The vocabulary is smaller than asked for (the corpus cannot support it)."""


class LabelWarning(UserWarning):
    """A label never occurs in the training targets."""
