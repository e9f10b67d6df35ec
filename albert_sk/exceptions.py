"""Exceptions and warnings raised by albert_sk.

Every error says what was expected, what was received (with the row index when
the problem is in the data) and how to fix it.
"""

import os
import sys

from sklearn.exceptions import ConvergenceWarning  # noqa: F401 (re-exported)
from sklearn.exceptions import NotFittedError as _SklearnNotFittedError
from sklearn.utils._param_validation import InvalidParameterError

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_SKLEARN = f"{os.sep}sklearn{os.sep}"


def user_stacklevel():
    """The ``stacklevel`` that points ``warnings.warn`` at the user's line.

    Call it in the argument list of ``warnings.warn``: it counts the frames
    from that call to the first one outside albert_sk and scikit-learn
    (whose fit wrapper, ``Pipeline`` and searches sit between), however
    deep the warning is raised, so a refactor cannot make a warning name a
    line of the library instead of the user's.

    Examples
    --------
    Called from outside the library, the level is the caller itself:

    >>> user_stacklevel()
    1
    """
    frame = sys._getframe(1)  # the function calling warnings.warn
    level = 1
    while frame is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE)
        or _SKLEARN in frame.f_code.co_filename
    ):
        frame = frame.f_back
        level += 1
    return level


class AlbertSkError(Exception):
    """Base class of every albert_sk exception.

    Examples
    --------
    One ``except`` clause catches every error albert_sk raises on purpose:

    >>> from albert_sk.exceptions import AlbertSkError
    >>> from albert_sk.io import load_sentiment_sentences
    >>> try:
    ...     load_sentiment_sentences(["twitter"])
    ... except AlbertSkError as err:
    ...     print(type(err).__name__, err)
    InputError Unknown source 'twitter'; expected some of ['amazon', 'imdb', 'yelp'].
    """


class InputError(AlbertSkError, ValueError):
    """The data passed to ``fit``/``predict`` does not have the expected form.

    Examples
    --------
    It is a ``ValueError`` too, so code that catches scikit-learn's errors
    for bad data catches it:

    >>> from albert_sk.exceptions import InputError
    >>> from albert_sk.metrics import entity_f1_score
    >>> issubclass(InputError, ValueError)
    True
    >>> try:
    ...     entity_f1_score([["B-PER", "O"]], [["B-PER"]])
    ... except ValueError as err:
    ...     print(err)
    Sentence 0 has 2 gold tags but 1 predicted tags. Pass one tag per word in both.
    """


class ParameterError(InputError, InvalidParameterError):
    """Parameters each valid alone that do not fit together (or with the data);
    catchable as scikit-learn's ``InvalidParameterError``.

    Examples
    --------
    ``fit`` checks the parameters before it reads the data:

    >>> from albert_sk import AlbertClassifier
    >>> from albert_sk.exceptions import ParameterError
    >>> model = AlbertClassifier(validation_data=(["a dull plot"], [0], [1.0]))
    >>> try:  # doctest: +NORMALIZE_WHITESPACE
    ...     model.fit(["a good film", "a dull plot"], [1, 0])
    ... except ParameterError as err:
    ...     print(err)
    validation_data must be a tuple (X_val, y_val), but got a tuple of 3 items.
    Pass validation_data=(X_val, y_val).
    >>> issubclass(ParameterError, (InputError, ValueError))
    True
    """


class NotFittedError(AlbertSkError, _SklearnNotFittedError):
    """The estimator is used before ``fit``; catchable as sklearn's error.

    Examples
    --------
    >>> from sklearn.exceptions import NotFittedError as SklearnNotFittedError
    >>> from albert_sk import AlbertTagger
    >>> try:  # doctest: +NORMALIZE_WHITESPACE
    ...     AlbertTagger().predict([["Ada", "sings"]])
    ... except SklearnNotFittedError as err:  # scikit-learn's class catches it
    ...     print(type(err).__module__, err)
    albert_sk.exceptions This AlbertTagger instance is not fitted yet. Call
    'fit' with training texts first, or load a saved model with
    AlbertTagger.load(path).
    """


class ModelFileError(AlbertSkError, ValueError):
    """A saved model file is missing, truncated, or was not written by albert_sk.

    Examples
    --------
    >>> import os, tempfile
    >>> import albert_sk
    >>> from albert_sk.exceptions import ModelFileError
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "notes.albert")
    ...     with open(path, "w", encoding="utf-8") as fh:
    ...         _ = fh.write("not a model")
    ...     try:  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    ...         albert_sk.load(path)
    ...     except ModelFileError as err:
    ...         print(err)
    '...notes.albert' is not an albert_sk model file (a zip archive written by
    est.save(path)): ...
    """


class AlbertSkWarning(UserWarning):
    """Base class of every albert_sk warning.

    Each one counts what it is about, names the first rows concerned and says
    how to avoid it; ``warnings.filterwarnings("error", category=AlbertSkWarning)``
    turns them all into errors.

    Examples
    --------
    With ``vec`` fitted as in the class example of
    :class:`~albert_sk.AlbertVectorizer` (``max_length=48``): a text cut to
    fit is an error where every warning is one.

    >>> import warnings
    >>> from albert_sk.exceptions import AlbertSkWarning
    >>> with warnings.catch_warnings():
    ...     warnings.filterwarnings("error", category=AlbertSkWarning)
    ...     try:
    ...         vec.transform(["a long review " * 40])
    ...     except AlbertSkWarning as err:
    ...         print(type(err).__name__)
    TruncationWarning
    >>> issubclass(AlbertSkWarning, UserWarning)
    True
    """


class TruncationWarning(AlbertSkWarning):
    """Some inputs were longer than ``max_length`` and were cut.

    Examples
    --------
    With ``vec`` fitted as in the class example of
    :class:`~albert_sk.AlbertVectorizer` (``max_length=48``):

    >>> import warnings
    >>> from albert_sk.exceptions import TruncationWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     X = vec.transform(["A great film.", "a long review " * 40])
    >>> [w.category.__name__ for w in caught]
    ['TruncationWarning']
    >>> print(caught[0].message)  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    1 of 2 texts were longer than max_length=48 tokens (the longest had ...)
    and were truncated (rows [1]). Raise max_length to keep them whole.
    """


class DataLossWarning(AlbertSkWarning):
    """Some training targets could not be used as given (an answer no token
    covers, a split that could not be stratified) and were replaced or
    dropped; the warning counts them and names the rows.

    Examples
    --------
    A class with one row cannot be stratified into a ``validation_split``:

    >>> import warnings
    >>> from albert_sk import AlbertClassifier
    >>> from albert_sk.exceptions import AlbertSkWarning
    >>> from albert_sk.io import load_sentiment_sentences
    >>> reviews = load_sentiment_sentences()
    >>> texts = reviews.text[reviews.text.str.len() < 40][:12].tolist()
    >>> labels = ["neg"] * 6 + ["pos"] * 5 + ["mixed"]
    >>> model = AlbertClassifier(backbone="tiny", vocab_size=64, max_length=64,
    ...                          epochs=1, validation_split=0.25, random_state=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     model = model.fit(texts, labels)
    >>> ours = [w for w in caught if issubclass(w.category, AlbertSkWarning)]
    >>> [w.category.__name__ for w in ours]
    ['DataLossWarning']
    >>> print(ours[0].message)  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    validation_split=0.25 could not keep the class proportions of y (...);
    1 rows hold a class no other row has (rows [11]). The split is random
    instead, so the validation part may lack some classes. Give each class at
    least 2 rows, raise validation_split, or pass validation_data.
    """


class VocabularyWarning(AlbertSkWarning):
    """The vocabulary is smaller than asked for (the corpus cannot support it).

    Examples
    --------
    >>> import warnings
    >>> from albert_sk import AlbertVectorizer
    >>> texts = ["a good film", "a bad film", "good acting"]
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     vec = AlbertVectorizer(backbone="tiny", vocab_size=500).fit(texts)
    >>> [w.category.__name__ for w in caught]
    ['VocabularyWarning']
    >>> print(caught[0].message)  # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
    vocab_size=500 is more than these texts support; the vocabulary has ...
    pieces. Pass a smaller vocab_size, or more text, to silence this warning.
    """


class LabelWarning(AlbertSkWarning):
    """A label never occurs in the training targets.

    Examples
    --------
    A multilabel ``AlbertClassifier`` fitted on an indicator column that is
    all zeros learns never to predict that label:

    >>> import warnings
    >>> import numpy as np
    >>> from albert_sk import AlbertClassifier
    >>> from albert_sk.exceptions import AlbertSkWarning
    >>> from albert_sk.io import load_sentiment_sentences
    >>> reviews = load_sentiment_sentences()
    >>> texts = reviews.text[reviews.text.str.len() < 40][:12].tolist()
    >>> y = np.zeros((12, 3), dtype=int)
    >>> y[:6, 0] = y[6:, 1] = 1  # label 2 never occurs
    >>> model = AlbertClassifier(backbone="tiny", vocab_size=64, max_length=64,
    ...                          epochs=1, random_state=0)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     model = model.fit(texts, y)
    >>> ours = [w for w in caught if issubclass(w.category, AlbertSkWarning)]
    >>> [w.category.__name__ for w in ours]
    ['LabelWarning']
    >>> print(ours[0].message)  # doctest: +NORMALIZE_WHITESPACE
    1 of 3 labels never occur in y (columns [2]): the model will learn to
    never predict them.
    """


class ActivationWarning(AlbertSkWarning):
    """A checkpoint's activation is not the one keras-hub's ALBERT computes
    (exact erf GELU loaded into the tanh approximation): outputs differ a little.

    Examples
    --------
    A Hugging Face checkpoint whose ``config.json`` says ``"hidden_act":
    "gelu"`` (albert-base-v1 style) loads with this warning. With ``vec``
    fitted as in the class example of :class:`~albert_sk.AlbertVectorizer`,
    exported and its config edited so:

    >>> import json, os, tempfile, warnings
    >>> from albert_sk import AlbertVectorizer, export_hf
    >>> from albert_sk.exceptions import ActivationWarning, AlbertSkWarning
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = export_hf(vec, os.path.join(folder, "hf"))
    ...     with open(os.path.join(path, "config.json")) as fh:
    ...         config = json.load(fh)
    ...     config["hidden_act"] = "gelu"
    ...     with open(os.path.join(path, "config.json"), "w") as fh:
    ...         json.dump(config, fh)
    ...     with warnings.catch_warnings(record=True) as caught:
    ...         warnings.simplefilter("always")
    ...         model = AlbertVectorizer(preset=path, max_length=48).fit(["Fine."])
    >>> [w.category for w in caught if issubclass(w.category, AlbertSkWarning)]
    [<class 'albert_sk.exceptions.ActivationWarning'>]

    Where the small difference is accepted, ignore this warning alone:
    ``warnings.filterwarnings("ignore", category=ActivationWarning)``.
    """


class ExportWarning(AlbertSkWarning):
    """An export writes a model that another library reads without a part
    of what albert_sk predicts with, and predicts worse for it.

    ``export_hf`` of an ``AlbertTagger`` whose transitions were trained as a
    CRF (``transitions="crf"``, the default from scratch) warns: transformers
    reads each token's own argmax, without the transitions. The message
    says what that cost on the NER benchmarks and the fix
    (``transitions="counted"``).

    Examples
    --------
    >>> import tempfile, warnings
    >>> from albert_sk import AlbertTagger, export_hf
    >>> from albert_sk.exceptions import ExportWarning
    >>> X = [["Ada", "met", "Bob", "in", "Paris"], ["Bob", "left", "Rome"]] * 8
    >>> y = [["B-PER", "O", "B-PER", "O", "B-LOC"], ["B-PER", "O", "B-LOC"]] * 8
    >>> tagger = AlbertTagger(max_length=16, epochs=1, random_state=0)
    >>> with warnings.catch_warnings():  # a tiny vocabulary, one epoch
    ...     warnings.simplefilter("ignore")
    ...     tagger = tagger.fit(X, y)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     path = export_hf(tagger, tempfile.mkdtemp() + "/hf")
    >>> [w.category.__name__ for w in caught if w.category is ExportWarning]
    ['ExportWarning']

    Fitted with ``transitions="counted"``, it exports without the warning.
    """


def first_rows(rows, limit=5):
    """The first few row indexes, as text: ``[3, 8, 9, ...]``."""
    shown = ", ".join(str(int(r)) for r in rows[:limit])
    return f"[{shown}{', ...' if len(rows) > limit else ''}]"
