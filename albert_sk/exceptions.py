"""Exceptions and warnings raised by albert_sk.

Every error says what was expected, what was received (with the row index when
the problem is in the data) and how to fix it.
"""

from sklearn.exceptions import ConvergenceWarning  # noqa: F401 (re-exported)
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils._param_validation import InvalidParameterError


class AlbertSkError(Exception):
    """Base class of every albert_sk exception."""


class InputError(AlbertSkError, ValueError):
    """The data passed to ``fit``/``predict`` does not have the expected form."""


class ParameterError(InputError, InvalidParameterError):
    """Parameters each valid alone that do not fit together (or with the data);
    catchable as scikit-learn's ``InvalidParameterError``."""


class NotFittedError(AlbertSkError, _SklearnNotFittedError):
    """The estimator is used before ``fit``; catchable as sklearn's error."""


class ModelFileError(AlbertSkError, ValueError):
    """A saved model file is missing, truncated, or was not written by albert_sk."""


class AlbertSkWarning(UserWarning):
    """Base class of every albert_sk warning.

    Each one counts what it is about, names the first rows concerned and says
    how to avoid it; ``warnings.filterwarnings("error", category=AlbertSkWarning)``
    turns them all into errors.
    """


class TruncationWarning(AlbertSkWarning):
    """Some inputs were longer than ``max_length`` and were cut."""


class DataLossWarning(AlbertSkWarning):
    """Some training targets could not be used as given (an answer no token
    covers, a split that could not be stratified) and were replaced or
    dropped; the warning counts them and names the rows."""


class VocabularyWarning(AlbertSkWarning):
    """The vocabulary is smaller than asked for (the corpus cannot support it)."""


class LabelWarning(AlbertSkWarning):
    """A label never occurs in the training targets."""


class ActivationWarning(AlbertSkWarning):
    """A checkpoint's activation is not the one keras-hub's ALBERT computes
    (exact erf GELU loaded into the tanh approximation): outputs differ a little."""


def first_rows(rows, limit=5):
    """The first few row indexes, as text: ``[3, 8, 9, ...]``."""
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    return f"[{shown}{', ...' if len(rows) > limit else ''}]"
