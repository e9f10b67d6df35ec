"""AlbertClassifier as a scikit-learn estimator.

Text estimators make ``parametrize_with_checks`` skip almost everything, so
the data-free checks of ``sklearn.utils.estimator_checks`` are called directly
and the others are written here for text: fit returns self, cloning,
pickling, saving, ``Pipeline``/``GridSearchCV``, metadata routing, inputs,
targets, validation, early stopping, seeding, warm starts and bad input.

Fits are tiny (a 2-layer model, a few dozen short sentences, one epoch) and
run on the compiled (``tf.function``) path users get.
"""

import glob
import os
import pickle
import zipfile

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
import sklearn
from _marks import API_FITS
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import estimator_checks
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_sample_weight

import albert_sk
from albert_sk import AlbertClassifier
from albert_sk.base import AlbertEstimator
from albert_sk.exceptions import (
    InputError,
    LabelWarning,
    ModelFileError,
    NotFittedError,
    TruncationWarning,
)
from albert_sk.io import read_trec

pytestmark = API_FITS

PARAMS = dict(
    backbone="tiny",
    vocab_size=96,
    max_length=48,
    epochs=1,
    batch_size=16,
    random_state=0,
)


@pytest.fixture(scope="module")
def data(sentiment):
    """48 short sentiment sentences (24 per label), labels "neg"/"pos"."""
    short = sentiment[sentiment.text.str.split().str.len().between(3, 8)]
    frame = short.groupby("label").sample(24, random_state=0)
    frame = frame.sample(frac=1, random_state=1).reset_index(drop=True)
    frame["tag"] = np.where(frame.label == 1, "pos", "neg")
    return frame


@pytest.fixture(scope="module")
def X(data):
    return data.text.tolist()


@pytest.fixture(scope="module")
def y(data):
    return data.tag.to_numpy()


@pytest.fixture(scope="module")
def fitted(X, y):
    """A classifier fitted on the list of texts, and its params before fit."""
    clf = AlbertClassifier(**PARAMS)
    before = clf.get_params(deep=False)
    returned = clf.fit(X, y)
    return clf, returned, before


def _same_params(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert joblib.hash(a[key]) == joblib.hash(b[key]), key


# === Parameters, cloning, tags ===

NON_DEFAULT = dict(
    preset="some/preset/dir",
    backbone={"num_layers": 1, "hidden_dim": 16},
    vocab_size=321,
    max_length=40,
    epochs=7,
    batch_size=5,
    learning_rate=2e-4,
    weight_decay=0.2,
    warmup_ratio=0.3,
    max_grad_norm=None,
    dropout=0.25,
    validation_split=0.2,
    validation_data=(["a text"], ["pos"]),
    early_stopping=True,
    patience=4,
    class_weight={"pos": 2.0, "neg": 1.0},
    threshold=0.3,
    pooling="cls",
    mixed_precision=False,
    jit_compile=True,
    random_state=42,
    verbose=1,
    callbacks=[keras.callbacks.TerminateOnNaN()],
    warm_start=True,
)


# Parameters that other work adds; covered once they exist.
for _name, _value in {
    "distribution": "data_parallel",
    "lora_rank": 4,
    "inference_dtype": "int8",
}.items():
    if _name in AlbertClassifier().get_params():
        NON_DEFAULT[_name] = _value


def test_non_default_values_cover_every_parameter():
    defaults = AlbertClassifier().get_params()
    assert NON_DEFAULT.keys() == defaults.keys()
    for key, value in NON_DEFAULT.items():
        assert joblib.hash(value) != joblib.hash(defaults[key]), key


def test_clone_keeps_every_parameter():
    clf = AlbertClassifier(**NON_DEFAULT)
    copy = clone(clf)
    assert copy is not clf
    params = copy.get_params()
    assert params.keys() == NON_DEFAULT.keys()
    for key, value in NON_DEFAULT.items():
        if key == "callbacks":
            assert [type(c) for c in params[key]] == [type(c) for c in value]
        else:
            assert params[key] == value, key


def test_get_params_and_set_params():
    clf = AlbertClassifier()
    assert clf.get_params()["max_length"] == 128
    assert clf.set_params(max_length=64, threshold=0.7) is clf
    assert clf.get_params()["max_length"] == 64
    assert clf.threshold == 0.7
    with pytest.raises(ValueError, match=r"Invalid parameter 'max_len'"):
        clf.set_params(max_len=3)


def test_init_takes_keyword_arguments_only():
    with pytest.raises(TypeError):
        AlbertClassifier(None)


def test_sklearn_tags():
    tags = AlbertClassifier().__sklearn_tags__()
    assert tags.input_tags.string is True
    assert tags.input_tags.two_d_array is False
    assert tags.non_deterministic is True
    assert tags.estimator_type == "classifier"
    assert tags.classifier_tags.multi_label is True
    assert sklearn.base.is_classifier(AlbertClassifier())


@pytest.mark.parametrize(
    "method", ["predict", "predict_proba", "decision_function", "score", "save"]
)
def test_not_fitted(method, tmp_path):
    clf = AlbertClassifier()
    args = {
        "score": (["a"], ["x"]),
        "save": (tmp_path / "model.albert",),
    }.get(method, (["a"],))
    with pytest.raises(
        NotFittedError,
        match=r"This AlbertClassifier instance is not fitted yet\. Call 'fit' with "
        r"training texts first, or load a saved model with AlbertClassifier\.load",
    ) as info:
        getattr(clf, method)(*args)
    assert isinstance(info.value, SklearnNotFittedError)
    assert not os.path.exists(tmp_path / "model.albert")


# Checks of sklearn.utils.estimator_checks that need no data (or fail before
# they look at it), run as they are.
DATA_FREE_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_mixin_order",
    "check_do_not_raise_errors_in_init_or_set_params",
    # Parameter validation runs before the (numeric) data is looked at.
    "check_param_validation",
    # NotFittedError is raised before the (numeric) data is looked at.
    "check_estimators_unfitted",
]


@pytest.mark.parametrize("check", DATA_FREE_CHECKS)
def test_sklearn_data_free_check(check):
    getattr(estimator_checks, check)("AlbertClassifier", AlbertClassifier(**PARAMS))


# === Fit, clone, pickle ===


def test_fit_returns_self(fitted):
    clf, returned, _ = fitted
    assert returned is clf


def test_fit_does_not_change_params(fitted):
    clf, _, before = fitted
    _same_params(clf.get_params(deep=False), before)


def test_fitted_attributes(fitted, y):
    clf, *_ = fitted
    assert clf.classes_.tolist() == ["neg", "pos"]
    assert clf.multilabel_ is False
    assert clf.pairs_ is False
    assert isinstance(clf.model_, keras.Model)
    assert clf.tokenizer_.vocab_size == PARAMS["vocab_size"]
    assert list(clf.history_) == ["accuracy", "loss"]
    assert len(clf.history_["loss"]) == PARAMS["epochs"]
    assert not hasattr(clf, "n_features_in_")
    assert not hasattr(clf, "feature_names_in_")


def test_clone_of_fitted_is_unfitted(fitted, X):
    clf, *_ = fitted
    copy = clone(clf)
    assert not hasattr(copy, "model_") and not hasattr(copy, "classes_")
    _same_params(copy.get_params(deep=False), clf.get_params(deep=False))
    with pytest.raises(NotFittedError):
        copy.predict(X[:2])


def test_predict_proba_and_decision_function(fitted, X, y):
    clf, *_ = fitted
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert ((proba >= 0) & (proba <= 1)).all()
    scores = clf.decision_function(X)
    assert scores.shape == (len(X),)
    predictions = clf.predict(X)
    assert predictions.shape == (len(X),)
    np.testing.assert_array_equal(predictions, clf.classes_[(scores > 0).astype(int)])
    np.testing.assert_array_equal(predictions, clf.classes_[proba.argmax(axis=1)])
    # score is the accuracy of these predictions against the true labels.
    assert clf.score(X, y) == pytest.approx(np.mean(predictions == y))
    flipped = np.where(y == "pos", "neg", "pos")
    assert clf.score(X, flipped) == pytest.approx(1 - clf.score(X, y))


def test_pickle_round_trip(fitted, X):
    clf, *_ = fitted
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    assert copy.classes_.tolist() == clf.classes_.tolist()
    _same_params(copy.get_params(deep=False), clf.get_params(deep=False))


def test_joblib_round_trip(fitted, X, tmp_path):
    clf, *_ = fitted
    joblib.dump(clf, tmp_path / "clf.joblib")
    copy = joblib.load(tmp_path / "clf.joblib")
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(copy.predict(X), clf.predict(X))


def test_predict_order_follows_input(fitted, X):
    clf, *_ = fitted
    proba = clf.predict_proba(X)
    reverse = clf.predict_proba(X[::-1])
    np.testing.assert_allclose(reverse[::-1], proba, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X[5:6]), proba[5:6], atol=1e-6)


# === Saving ===


def test_save_load_round_trip(fitted, X, tmp_path):
    clf, *_ = fitted
    path = tmp_path / "clf.albert"
    assert clf.save(path) == os.fspath(path)
    loaded = AlbertClassifier.load(path)
    assert type(loaded) is AlbertClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.classes_.tolist() == ["neg", "pos"]
    assert loaded.history_ == clf.history_
    expected = clf.get_params(deep=False)
    _same_params(loaded.get_params(deep=False), expected)
    # The generic loader gives the same estimator.
    again = albert_sk.load(path)
    assert type(again) is AlbertClassifier
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    # The file is a zip that needs no pickle.
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == [
            "albert_sk.json",
            "model.keras",
            "spiece.model",
        ]


def _leftovers(folder):
    return glob.glob(os.path.join(folder, ".*.part"))


@pytest.mark.parametrize("where", ["keras_save", "zip_write"])
def test_save_is_atomic(fitted, tmp_path, monkeypatch, where):
    clf, *_ = fitted
    path = tmp_path / "clf.albert"
    clf.save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    if where == "keras_save":
        monkeypatch.setattr(keras.Model, "save", crash)
    else:  # after the JSON member went in: a half-written archive
        monkeypatch.setattr(zipfile.ZipFile, "write", crash)
    fds = "/proc/self/fd"
    open_before = len(os.listdir(fds)) if os.path.isdir(fds) else None
    with pytest.raises(RuntimeError, match="disk full"):
        clf.save(path)
    if open_before is not None:  # the temporary file's descriptor is closed
        assert len(os.listdir(fds)) == open_before
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []
    assert sorted(os.listdir(tmp_path)) == ["clf.albert"]
    monkeypatch.undo()
    assert isinstance(AlbertClassifier.load(path), AlbertClassifier)


def test_save_into_missing_folder(fitted, tmp_path):
    clf, *_ = fitted
    with pytest.raises(FileNotFoundError, match=r"folder .* does not exist"):
        clf.save(tmp_path / "missing" / "clf.albert")


def test_load_truncated_file(fitted, tmp_path):
    clf, *_ = fitted
    path = tmp_path / "clf.albert"
    clf.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        ModelFileError,
        match=r"is not an albert_sk model file \(a zip archive written by "
        r"est\.save\(path\)\): it may be truncated",
    ):
        AlbertClassifier.load(path)


def test_load_damaged_member(fitted, tmp_path):
    clf, *_ = fitted
    path = tmp_path / "clf.albert"
    clf.save(path)
    broken = tmp_path / "broken.albert"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(broken, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(
                name, data[: len(data) // 2] if name != "spiece.model" else data
            )
    with pytest.raises(ModelFileError, match=r"is damaged .*save the model again"):
        AlbertClassifier.load(broken)


def test_load_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a model\n")
    with pytest.raises(ModelFileError, match=r"is not an albert_sk model file"):
        AlbertClassifier.load(path)


def test_load_foreign_zip(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(
        ModelFileError,
        match=r"is not an albert_sk model file .*: it lacks \['albert_sk\.json', "
        r"'model\.keras', 'spiece\.model'\]",
    ):
        albert_sk.load(path)


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No saved model at"):
        AlbertClassifier.load(tmp_path / "nothing.albert")


class _OtherEstimator(AlbertEstimator):
    """Stands in for another albert_sk estimator class."""


def test_load_with_another_estimator_class(fitted, tmp_path):
    clf, *_ = fitted
    path = tmp_path / "clf.albert"
    clf.save(path)
    with pytest.raises(
        ModelFileError,
        match=r"holds an AlbertClassifier, not an _OtherEstimator\. Load it with "
        r"AlbertClassifier\.load\(path\) or albert_sk\.load\(path\)",
    ):
        _OtherEstimator.load(path)
    with pytest.raises(ModelFileError, match=r"not an AlbertRegressor"):
        albert_sk.AlbertRegressor.load(path)


# === Model selection ===


def _lower(texts):
    return [t.lower() for t in texts]


# n_jobs=2: worker processes start TensorFlow and trace graphs, about half a
# minute on two cores; the issue asks for it. In-process searches (n_jobs=1)
# are test_sample_weight_routed_through_grid_search's and test_tagger's.
def test_pipeline_grid_search(X, y):
    pipe = make_pipeline(FunctionTransformer(_lower), AlbertClassifier(**PARAMS))
    # Two candidates that differ in both parameters keep the fits few.
    grid = GridSearchCV(
        pipe,
        [
            {
                "albertclassifier__learning_rate": [1e-3],
                "albertclassifier__max_length": [48],
            },
            {
                "albertclassifier__learning_rate": [3e-3],
                "albertclassifier__max_length": [64],
            },
        ],
        cv=2,
        n_jobs=2,
        error_score="raise",
    )
    grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 2
    scores = grid.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and ((scores >= 0) & (scores <= 1)).all()
    best = grid.best_estimator_[-1]
    assert best.max_length == grid.best_params_["albertclassifier__max_length"]
    assert best.learning_rate == grid.best_params_["albertclassifier__learning_rate"]
    assert set(grid.predict(X)) <= {"neg", "pos"}
    assert grid.predict_proba(X).shape == (len(X), 2)


def test_cross_val_score(X, y):
    scores = cross_val_score(AlbertClassifier(**PARAMS), X, y, cv=2)
    assert scores.shape == (2,)
    assert ((scores >= 0) & (scores <= 1)).all()


# === Sample and class weights ===


@pytest.fixture(scope="module")
def zero_neg_weights(y):
    return (y == "pos").astype("float64")


@pytest.fixture(scope="module")
def zero_neg_fitted(X, y, zero_neg_weights):
    """Fitted with sample weights 0 on every "neg" row."""
    return AlbertClassifier(**PARAMS).fit(X, y, sample_weight=zero_neg_weights)


def test_sample_weight_routed_through_grid_search(
    fitted, X, y, zero_neg_weights, zero_neg_fitted
):
    clf = AlbertClassifier(**PARAMS)
    one_split = [(np.arange(0, 32), np.arange(32, 48))]
    with sklearn.config_context(enable_metadata_routing=True):
        clf.set_fit_request(sample_weight=True)
        clf.set_score_request(sample_weight=False)
        grid = GridSearchCV(clf, {"learning_rate": [1e-3]}, cv=one_split)
        grid.fit(X, y, sample_weight=zero_neg_weights)
    routed = grid.predict_proba(X)
    # The refit got the weights: it is the model fitted with them directly,
    # and not the one fitted without them (same seed, same everything else).
    np.testing.assert_allclose(routed, zero_neg_fitted.predict_proba(X), atol=1e-6)
    unweighted, *_ = fitted
    assert not np.allclose(routed, unweighted.predict_proba(X), atol=1e-3)


def test_class_weight_dict_equals_sample_weight(X, y, zero_neg_fitted):
    by_class = AlbertClassifier(**PARAMS, class_weight={"neg": 0.0, "pos": 1.0})
    by_class.fit(X, y)
    np.testing.assert_allclose(
        by_class.predict_proba(X), zero_neg_fitted.predict_proba(X), atol=1e-6
    )


def test_class_weight_balanced(X, y):
    # 24 "pos" and 8 "neg": "balanced" weighs each "neg" row 3 times more.
    keep = np.r_[np.flatnonzero(y == "pos"), np.flatnonzero(y == "neg")[:8]]
    Xi, yi = [X[i] for i in keep], y[keep]
    balanced = AlbertClassifier(**PARAMS, class_weight="balanced").fit(Xi, yi)
    weights = compute_sample_weight("balanced", yi)
    assert weights.max() == pytest.approx(3 * weights.min())
    explicit = AlbertClassifier(**PARAMS).fit(Xi, yi, sample_weight=weights)
    np.testing.assert_allclose(
        balanced.predict_proba(Xi), explicit.predict_proba(Xi), atol=1e-6
    )


def test_class_weight_errors(X, y):
    with pytest.raises(
        InputError,
        match=r"class_weight names labels \['maybe'\] that are not in y \(classes: "
        r"\['neg', 'pos'\]\)",
    ):
        AlbertClassifier(**PARAMS, class_weight={"maybe": 2.0}).fit(X, y)
    Y = np.stack([y == "pos", y == "neg"], axis=1).astype(int)
    with pytest.raises(InputError, match=r"class_weight is not supported for multil"):
        AlbertClassifier(**PARAMS, class_weight="balanced").fit(X, Y)


@pytest.mark.parametrize(
    "weights, message",
    [
        (np.ones(3), r"sample_weight must be a 1-D array with one weight per text "),
        (-np.ones(48), r"sample_weight must be finite and >= 0, but row 0 is -1\.0"),
    ],
)
def test_bad_sample_weight(X, y, weights, message):
    with pytest.raises(InputError, match=message):
        AlbertClassifier(**PARAMS).fit(X, y, sample_weight=weights)


# === Input forms ===


@pytest.mark.parametrize(
    "form", ["list", "tuple", "array", "series", "string_series", "frame"]
)
def test_predict_input_forms(fitted, X, form):
    clf, *_ = fitted
    data = {
        "list": X,
        "tuple": tuple(X),
        "array": np.array(X, dtype=object),
        "series": pd.Series(X, index=np.arange(len(X))[::-1]),
        "string_series": pd.Series(X, dtype="string"),
        "frame": pd.DataFrame({"text": X}),
    }[form]
    np.testing.assert_allclose(
        clf.predict_proba(data), clf.predict_proba(X), rtol=1e-5, atol=1e-6
    )


@pytest.fixture(scope="module")
def frame_fitted(data):
    frame = data[["text"]].astype({"text": "string"})
    return AlbertClassifier(**PARAMS).fit(frame, data.tag)


def test_dataframe_input_sets_feature_names(frame_fitted, data, X):
    clf = frame_fitted
    assert clf.n_features_in_ == 1
    assert clf.feature_names_in_.tolist() == ["text"]
    predictions = clf.predict(data[["text"]])
    np.testing.assert_array_equal(predictions, clf.predict(X))
    with pytest.raises(
        InputError,
        match=r"fitted on columns \['text'\] but got columns \['review'\]\. Rename",
    ):
        clf.predict(pd.DataFrame({"review": X}))


@pytest.fixture(scope="module")
def pairs(data):
    """Pairs (sentence, a sentence of the same label or the other one)."""
    rng = np.random.default_rng(0)
    second = data.text.to_numpy()[rng.permutation(len(data))]
    return pd.DataFrame({"first": data.text, "second": second})


@pytest.fixture(scope="module")
def pairs_fitted(pairs, y):
    return AlbertClassifier(**dict(PARAMS, max_length=128)).fit(pairs, y)


def test_text_pairs(pairs_fitted, pairs, X):
    clf = pairs_fitted
    assert clf.pairs_ is True
    assert clf.n_features_in_ == 2
    assert clf.feature_names_in_.tolist() == ["first", "second"]
    from_frame = clf.predict_proba(pairs)
    tuples = list(zip(pairs["first"], pairs["second"], strict=True))
    np.testing.assert_allclose(clf.predict_proba(tuples), from_frame, atol=1e-6)
    # The second text matters.
    swapped = clf.predict_proba(
        pairs[["second", "first"]].set_axis(pairs.columns, axis=1)
    )
    assert not np.allclose(swapped, from_frame)
    with pytest.raises(
        InputError,
        match=r"AlbertClassifier was fitted on text pairs but got single texts\. "
        r"Pass text pairs, as in fit",
    ):
        clf.predict(X)


def test_single_text_model_refuses_pairs(fitted, pairs):
    clf, *_ = fitted
    with pytest.raises(InputError, match=r"fitted on single texts but got text pairs"):
        clf.predict(pairs)


# === Targets ===


@pytest.mark.parametrize("kind", ["int", "bool"])
def test_label_types_are_kept(X, data, kind):
    labels = {"int": data.label.to_numpy() * 5 + 2, "bool": data.label == 1}[kind]
    labels = labels.to_numpy() if hasattr(labels, "to_numpy") else labels
    clf = AlbertClassifier(**PARAMS).fit(X, labels)
    predicted = clf.predict(X)
    if kind == "int":
        assert clf.classes_.tolist() == [2, 7]
        assert predicted.dtype.kind == "i"
        assert set(predicted.tolist()) <= {2, 7}
    else:
        assert clf.classes_.tolist() == [False, True]
        assert predicted.dtype == bool
    assert type(predicted[0].item()) is type(labels[0].item())


def test_string_labels_are_kept(fitted, X):
    clf, *_ = fitted
    predicted = clf.predict(X)
    assert predicted.dtype.kind == "U"
    assert set(predicted.tolist()) <= {"neg", "pos"}


@pytest.fixture(scope="module")
def trec(trec_path):
    """60 TREC questions, 10 of each coarse class."""
    frame = read_trec(trec_path)
    frame = frame[frame.text.str.split().str.len() <= 10]
    return frame.groupby("label").head(10).reset_index(drop=True)


def test_multiclass(trec):
    assert trec.label.nunique() == 6
    clf = AlbertClassifier(**PARAMS).fit(trec.text, trec.label)
    assert clf.classes_.tolist() == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    proba = clf.predict_proba(trec.text)
    assert proba.shape == (len(trec), 6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert clf.decision_function(trec.text).shape == (len(trec), 6)
    predicted = clf.predict(trec.text)
    assert set(predicted) <= set(clf.classes_)
    np.testing.assert_array_equal(predicted, clf.classes_[proba.argmax(axis=1)])


@pytest.fixture(scope="module")
def multilabel_y(data):
    """Three label columns; the last never occurs."""
    n = len(data)
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "positive": (data.label == 1).astype(int),
            "random": rng.integers(0, 2, n),
            "never": np.zeros(n, dtype=int),
        }
    )


def test_multilabel(X, multilabel_y):
    with pytest.warns(
        LabelWarning, match=r"1 of 3 labels never occur in y \(columns \[2\]\)"
    ) as rec:
        clf = AlbertClassifier(**PARAMS).fit(X, multilabel_y)
    assert rec[0].filename == __file__  # the user's line, not the library's
    assert clf.multilabel_ is True
    assert clf.classes_.tolist() == ["positive", "random", "never"]
    predicted = clf.predict(X)
    assert predicted.shape == (len(X), 3)
    assert set(np.unique(predicted)) <= {0, 1}
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert ((proba > 0) & (proba < 1)).all()
    np.testing.assert_array_equal(predicted, (proba >= clf.threshold).astype(int))
    assert clf.decision_function(X).shape == (len(X), 3)


def test_multilabel_refuses_non_binary_values(X):
    Y = np.tile([[0, 2]], (len(X), 1))
    with pytest.raises(
        InputError, match=r"reads a 2-D y as a multilabel indicator matrix of 0/1"
    ):
        AlbertClassifier(**PARAMS).fit(X, Y)


# === Validation, early stopping, callbacks ===


def test_validation_split_fills_val_loss(X, y):
    clf = AlbertClassifier(**dict(PARAMS, epochs=2), validation_split=0.25).fit(X, y)
    assert len(clf.history_["val_loss"]) == 2
    assert len(clf.history_["val_accuracy"]) == 2


def test_validation_data_scores_are_the_fitted_models_scores(X, y):
    """The last epoch's val_accuracy is what score() gives on the same texts."""
    val = (X[:12], y[:12])
    clf = AlbertClassifier(**dict(PARAMS, epochs=2), validation_data=val).fit(
        X[12:], y[12:]
    )
    assert clf.history_["val_accuracy"][-1] == pytest.approx(clf.score(*val), abs=1e-6)


class _Recorder(keras.callbacks.Callback):
    """Keeps the logs and the weights at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.calls, self.weights = [], []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, dict(logs or {})))
        self.weights.append([w.copy() for w in self.model.get_weights()])


def test_validation_data_and_callbacks(X, y, tmp_path):
    recorder = _Recorder()
    clf = AlbertClassifier(
        **dict(PARAMS, epochs=2),
        validation_data=(X[:10], y[:10]),
        callbacks=[recorder],
    ).fit(X, y)
    assert len(clf.history_["val_loss"]) == 2
    assert recorder.calls[0] == "train_begin"
    ends = [c for c in recorder.calls[1:] if c[0] == "epoch_end"]
    assert [c[1] for c in ends] == [0, 1]
    assert [c[2]["val_loss"] for c in ends] == pytest.approx(clf.history_["val_loss"])
    # Live objects are not saved.
    clf.save(tmp_path / "clf.albert")
    loaded = AlbertClassifier.load(tmp_path / "clf.albert")
    assert loaded.callbacks is None and loaded.validation_data is None
    assert loaded.history_ == clf.history_


def test_early_stopping_restores_best_weights(X, y):
    # Validation labels are the training labels flipped: the better the model
    # learns, the worse the validation loss, so the first epoch is the best.
    flipped = np.where(y == "pos", "neg", "pos")
    recorder = _Recorder()
    clf = AlbertClassifier(
        **dict(PARAMS, epochs=10, learning_rate=1e-2),
        validation_data=(X, flipped),
        early_stopping=True,
        patience=1,
        callbacks=[recorder],
    ).fit(X, y)
    val_loss = clf.history_["val_loss"]
    assert len(val_loss) < 10
    best = int(np.argmin(val_loss))
    assert best == len(val_loss) - 2  # stopped one epoch (patience) after it
    final = clf.model_.get_weights()
    for w, kept in zip(final, recorder.weights[best], strict=True):
        np.testing.assert_array_equal(w, kept)
    assert any(
        not np.array_equal(w, last)
        for w, last in zip(final, recorder.weights[-1], strict=True)
    )


# === Seeding and warm start ===


def test_same_random_state_same_model(X, y):
    # One padded shape (max_length 16) and one batch per epoch keep the graph
    # tracing to one train and one predict function per fit.
    params = dict(PARAMS, max_length=16, batch_size=48, epochs=2)
    runs = []
    for _ in range(2):
        with pytest.warns(TruncationWarning):
            clf = AlbertClassifier(**params).fit(X, y)
        with pytest.warns(TruncationWarning):
            runs.append(clf.predict_proba(X))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_other_random_state_other_model(fitted, X, y):
    clf, *_ = fitted
    other = AlbertClassifier(**dict(PARAMS, random_state=1)).fit(X, y)
    assert not np.allclose(other.predict_proba(X), clf.predict_proba(X))


def test_warm_start_continues(X, y):
    clf = AlbertClassifier(**PARAMS, warm_start=True).fit(X, y)
    model, tokenizer = clf.model_, clf.tokenizer_
    weights = [w.copy() for w in model.get_weights()]
    clf.fit(X[:32], y[:32])
    assert clf.model_ is model and clf.tokenizer_ is tokenizer
    assert len(clf.history_["loss"]) == 2 * PARAMS["epochs"]
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(weights, model.get_weights(), strict=True)
    )
    with pytest.raises(
        InputError, match=r"y holds labels \['meh'\] that AlbertClassifier was not "
    ):
        clf.fit(X[:3], ["pos", "neg", "meh"])


def test_refit_starts_over(X, y, data):
    clf = AlbertClassifier(**PARAMS).fit(data[["text"]], y)
    model = clf.model_
    assert clf.n_features_in_ == 1
    clf.fit(X, y)
    assert clf.model_ is not model
    assert len(clf.history_["loss"]) == PARAMS["epochs"]
    assert not hasattr(clf, "n_features_in_")
    assert not hasattr(clf, "feature_names_in_")


# === Bad input, each with its pinned message ===


def _fit(X, y, **params):
    return AlbertClassifier(**dict(PARAMS, **params)).fit(X, y)


@pytest.mark.parametrize(
    "X_bad, message",
    [
        (["good", None, "bad"], r"expects a text in every row, but row 1 is missing"),
        (
            ["good", "bad", np.nan],
            r"expects a text in every row, but row 2 is missing \(nan\)\. Drop or "
            r"fill missing texts first",
        ),
        (["good", 3, "bad"], r"expects texts \(str\), but row 1 is int \(3\)"),
        ([], r"needs at least one text, but got an empty input \(0 rows\)"),
        ("good film", r"expects a list of texts, but got a single str"),
        (
            [("a", "b"), ("c", None), ("e", "f")],
            r"expects a text in every row, but row 1 \(second text of the pair\) "
            r"is missing \(None\)",
        ),
        (
            pd.DataFrame({"a": ["x"] * 3, "b": ["y"] * 3, "c": ["z"] * 3}),
            r"expects a DataFrame with one text column, or two for text pairs, but "
            r"got 3 "
            r"columns",
        ),
    ],
    ids=["None", "NaN", "int", "empty", "bare_string", "pair_side", "three_cols"],
)
def test_bad_texts(X_bad, message):
    y = ["pos", "neg", "pos"][: len(X_bad)] if not isinstance(X_bad, str) else ["x"]
    with pytest.raises(InputError, match=rf"^AlbertClassifier {message}"):
        _fit(X_bad, y)


@pytest.mark.parametrize(
    "y_bad, message",
    [
        (
            ["pos", "neg"],
            r"X and y must have the same number of rows, but X has 3 and "
            r"y has 2\. Pass one target per text",
        ),
        (
            ["pos", "pos", "pos"],
            r"needs at least two classes in y, but every row has "
            r"the label 'pos'\. Add examples of another class",
        ),
        (["pos", np.nan, "neg"], r"got a missing target \(None/NaN\) in row 1 of y"),
        ([1.0, None, 0.0], r"got a missing target \(None/NaN\) in row 1 of y"),
        (
            [0.5, 1.7, 2.25],
            r"expects class labels, but y holds continuous values "
            r"such as 0\.5\. Use AlbertRegressor",
        ),
        (None, r"AlbertClassifier\.fit needs targets y"),
        ("pos", r"expects y as a list of labels, but got a string"),
        (
            ["pos", 1, "neg"],
            r"expects labels of one type, but y mixes \['int', 'str'\]",
        ),
    ],
    ids=[
        "length",
        "one_class",
        "nan",
        "none",
        "continuous",
        "y_none",
        "y_string",
        "mixed",
    ],
)
def test_bad_targets(y_bad, message):
    with pytest.raises(InputError, match=message):
        _fit(["good film", "bad film", "fine film"], y_bad)


@pytest.mark.parametrize(
    "param, value, message",
    [
        ("max_length", 4, r"an int in the range \[8, 512\]\. Got 4 instead"),
        ("max_length", 1024, r"an int in the range \[8, 512\]\. Got 1024 instead"),
        ("epochs", 0, r"an int in the range \[1, inf\)\. Got 0 instead"),
        ("learning_rate", -1.0, r"Got -1\.0 instead"),
        ("backbone", "huge", r"Got 'huge' instead"),
        ("validation_split", 1.5, r"Got 1\.5 instead"),
        ("threshold", 1.0, r"a float in the range \(0\.0, 1\.0\)\. Got 1\.0 instead"),
        ("class_weight", "even", r"Got 'even' instead"),
        (
            "vocab_size",
            10,
            r"an int in the range \[64, inf\) or a str among \{'auto'\}\. Got 10",
        ),
    ],
)
def test_parameters_out_of_range(param, value, message):
    with pytest.raises(
        InvalidParameterError,
        match=rf"The '{param}' parameter of AlbertClassifier must be .*{message}",
    ):
        _fit(["good", "bad"], ["pos", "neg"], **{param: value})


def test_validation_data_must_be_a_pair(X, y):
    with pytest.raises(
        InputError,
        match=r"validation_data must be a tuple \(X_val, y_val\), but got a tuple of 3",
    ):
        _fit(X, y, validation_data=(X, y, y))


def test_unknown_label_in_validation_data(X, y):
    with pytest.raises(InputError, match=r"y holds labels \['meh'\] that "):
        _fit(X, y, validation_data=(X[:2], ["pos", "meh"]))


@pytest.mark.parametrize("cls", [AlbertClassifier, albert_sk.AlbertRegressor])
def test_pooling_is_validated_and_auto_follows_the_preset(cls):
    with pytest.raises(InvalidParameterError, match=r"'pooling' parameter of"):
        cls(pooling="max").fit(["a text", "another"], [0, 1])
    assert cls().pooling_ == "mean"
    assert cls(preset="some/dir").pooling_ == "cls"
    assert cls(pooling="cls").pooling_ == "cls"
