"""The estimator contract, checked once over all six estimators.

Text estimators make scikit-learn's ``parametrize_with_checks`` skip almost
everything, so these are its checks written for text, as keras-hub's
``run_task_test`` runs one task test over every task: ``fit`` returns
``self`` and leaves the parameters as they were; every prediction method
raises scikit-learn's ``NotFittedError`` before ``fit``; ``clone`` copies
the parameters and none of the fit; ``get_params``/``set_params`` round
trip; a pickled and a saved (``save``/``albert_sk.load``) estimator predict
what the original does; each works inside a ``Pipeline`` where one makes
sense, and ``GridSearchCV`` (cv=2) searches one parameter of those whose
fits are cheap.

Each estimator is fitted once per module, on a one-layer backbone 16 wide
and 40 short texts for one epoch: enough to check the contract, not to
learn (that is tests/test_learning.py's work).
"""

import pickle
from dataclasses import dataclass, field

import joblib
import numpy as np
import pytest
from _marks import API_FITS
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import albert_sk
from albert_sk import (
    AlbertClassifier,
    AlbertPretrainer,
    AlbertQA,
    AlbertRegressor,
    AlbertTagger,
    AlbertVectorizer,
)

pytestmark = API_FITS

N_ROWS = 40
BACKBONE = dict(
    num_layers=1, num_heads=2, embedding_dim=16, hidden_dim=16, intermediate_dim=32
)
TINY = dict(backbone=BACKBONE, vocab_size=64, max_length=64, random_state=0)
FIT = dict(epochs=1, batch_size=8)


@dataclass
class Case:
    """One estimator: how to build it, its data, and what it predicts."""

    cls: type
    params: dict
    data: str  # the key of the data fixture's dict: (X, y)
    unfitted: tuple  # its prediction methods, each called with X
    numbers: object  # est, X -> what it predicts, as a float array
    pipeline: object = None  # params -> a Pipeline around a fresh estimator
    grid: dict = field(default_factory=dict)  # GridSearchCV's param_grid


def _lower(texts):
    return [text.lower() for text in texts]


CASES = {
    "classifier": Case(
        AlbertClassifier,
        dict(TINY, **FIT),
        "labels",
        ("predict", "predict_proba", "decision_function"),
        lambda est, X: est.predict_proba(X),
        lambda p: make_pipeline(FunctionTransformer(_lower), AlbertClassifier(**p)),
        {"albertclassifier__dropout": [0.0, 0.1]},
    ),
    "regressor": Case(
        AlbertRegressor,
        dict(TINY, **FIT),
        "values",
        ("predict",),
        lambda est, X: est.predict(X),
        lambda p: make_pipeline(FunctionTransformer(_lower), AlbertRegressor(**p)),
        {"albertregressor__dropout": [0.0, 0.1]},
    ),
    "tagger": Case(
        AlbertTagger,
        dict(TINY, **FIT),
        "tags",
        ("predict", "predict_proba"),
        lambda est, X: np.concatenate(est.predict_proba(X)).ravel(),
        grid={"dropout": [0.0, 0.1]},
    ),
    "qa": Case(
        AlbertQA,
        dict(TINY, max_query_length=24, doc_stride=16, **FIT),
        "answers",
        ("predict", "predict_spans"),
        lambda est, X: np.asarray([r[0]["score"] for r in est.predict_spans(X)]),
        grid={"dropout": [0.0, 0.1]},
    ),
    "vectorizer": Case(
        AlbertVectorizer,
        dict(TINY),
        "texts",
        ("transform",),
        lambda est, X: est.transform(X),
        lambda p: make_pipeline(AlbertVectorizer(**p), LogisticRegression()),
        {"albertvectorizer__pooling": ["mean", "cls"]},
    ),
    "pretrainer": Case(
        AlbertPretrainer,
        dict(TINY, epochs=1, batch_size=8),
        "documents",
        ("score",),
        lambda est, X: np.asarray([est.score(X)]),
    ),
}


@pytest.fixture(scope="module")
def data(sentiment_small):
    """``{kind: (X, y)}``: 40 short texts with labels, numbers, tags,
    answers, none, and as four documents of ten sentences."""
    texts = sentiment_small.text.tolist()[:N_ROWS]
    labels = np.where(sentiment_small.label[:N_ROWS] == 1, "pos", "neg")
    words = [text.split() for text in texts]
    questions = [{"question": "Which word comes first?", "context": t} for t in texts]
    documents = [" ".join(texts[i : i + 10]) for i in range(0, N_ROWS, 10)]
    return {
        "labels": (texts, labels),
        "values": (texts, np.asarray([len(w) for w in words], dtype=float)),
        "tags": (words, [["B-LONG" if len(x) > 5 else "O" for x in w] for w in words]),
        "answers": (questions, [w[0] for w in words]),
        "texts": (texts, labels),  # the vectorizer ignores y; its Pipeline uses it
        "documents": (documents, None),
    }


class Counted(list):
    """A list of targets that counts how often it is read whole."""

    reads = 0

    def __iter__(self):
        self.reads += 1
        return super().__iter__()


@pytest.fixture(scope="module", params=list(CASES))
def fitted(request, data):
    """``(case, estimator, X, y, fit)``: the estimator fitted once per
    module; ``fit`` holds what fit returned, the params before fit and how
    often fit read y."""
    case = CASES[request.param]
    X, y = data[case.data]
    est = case.cls(**case.params)
    before = est.get_params(deep=False)
    if y is None:  # the pretrainer
        returned, reads = est.fit(X), None
    else:
        counted = Counted(y)
        returned, reads = est.fit(X, counted), counted.reads
    return case, est, X, y, dict(returned=returned, before=before, reads=reads)


def _same_params(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert joblib.hash(a[key]) == joblib.hash(b[key]), key


def _same_predictions(case, a, b, X):
    np.testing.assert_allclose(case.numbers(a, X), case.numbers(b, X), atol=1e-5)


# === fit ===


def test_fit_returns_self_and_keeps_its_params(fitted):
    case, est, X, _, fit = fitted
    assert fit["returned"] is est
    _same_params(est.get_params(deep=False), fit["before"])
    outputs = case.numbers(est, X[:4])
    assert len(outputs) and np.isfinite(outputs).all()


def test_fit_reads_y_once(fitted):
    """y is parsed once per fit: the classes (scales, tags) and the targets
    come from the same reading. The vectorizer ignores y."""
    case, _, _, y, fit = fitted
    if y is None:
        pytest.skip(f"{case.cls.__name__}.fit takes no y")
    assert fit["reads"] == (0 if case.cls is AlbertVectorizer else 1)


# === Not fitted ===


@pytest.mark.parametrize("name", list(CASES))
def test_prediction_before_fit_raises_sklearns_not_fitted_error(name, data):
    case = CASES[name]
    X, _ = data[case.data]
    est = case.cls(**case.params)
    for method in case.unfitted:
        with pytest.raises(NotFittedError, match=f"This {case.cls.__name__} instance"):
            getattr(est, method)(X[:2])


# === Parameters and cloning ===


def test_clone_of_a_fitted_estimator_has_its_params_and_no_fit(fitted):
    case, est, X, _, _ = fitted
    copy = clone(est)
    assert type(copy) is type(est)
    _same_params(copy.get_params(deep=False), est.get_params(deep=False))
    fitted_attributes = [k for k in vars(copy) if k.endswith("_")]
    assert fitted_attributes == []
    with pytest.raises(NotFittedError):
        getattr(copy, case.unfitted[0])(X[:2])


def test_set_params_of_get_params_round_trips(fitted):
    case, est, _, _, _ = fitted
    params = est.get_params(deep=False)
    fresh = case.cls()
    assert fresh.set_params(**params) is fresh
    _same_params(fresh.get_params(deep=False), params)
    assert fresh.set_params(random_state=7).get_params()["random_state"] == 7


# === Pickle and model files ===


def test_pickle_round_trip_predicts_the_same(fitted):
    case, est, X, _, _ = fitted
    again = pickle.loads(pickle.dumps(est))
    assert type(again) is type(est)
    _same_params(again.get_params(deep=False), est.get_params(deep=False))
    _same_predictions(case, again, est, X[:8])


def test_save_and_load_round_trip_predicts_the_same(fitted, tmp_path):
    case, est, X, _, _ = fitted
    path = est.save(tmp_path / "model.albert")
    loaded = albert_sk.load(path)
    assert type(loaded) is type(est)
    _same_params(loaded.get_params(deep=False), est.get_params(deep=False))
    _same_predictions(case, loaded, est, X[:8])
    assert type(case.cls.load(path)) is case.cls


# === Pipeline and GridSearchCV ===


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.grid])
def test_grid_search_in_a_pipeline_where_one_makes_sense(name, data):
    """GridSearchCV (cv=2) over one parameter: of a Pipeline around the
    estimator where one makes sense (texts lower-cased before the classifier
    and the regressor, a LogisticRegression on the vectorizer's embeddings),
    else of the estimator itself. Not the pretrainer: its fits are the
    slowest and its score on two held-out documents says little."""
    case = CASES[name]
    X, y = data[case.data]
    pipe = case.pipeline(case.params) if case.pipeline else case.cls(**case.params)
    ((key, values),) = case.grid.items()
    search = GridSearchCV(pipe, case.grid, cv=2, error_score="raise").fit(X, y)
    assert search.best_params_[key] in values
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == len(values) and np.isfinite(scores).all()
    assert search.best_estimator_.get_params()[key] == search.best_params_[key]
    assert len(search.predict(X[:5])) == 5
    assert np.isfinite(search.score(X, y))
    if name in ("classifier", "vectorizer"):
        assert set(search.predict(X)) <= set(y)
