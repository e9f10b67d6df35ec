"""``lora_rank`` and ``inference_dtype`` (albert_sk.efficiency) on tiny fits.

One LoRA classifier fitted once per module (two layers, 64 wide, 48 short
sentences) serves most tests; the other estimators get one short fit each.
"""

import pickle

import keras
import numpy as np
import pytest
from _marks import API_FITS
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from albert_sk import (
    AlbertClassifier,
    AlbertPretrainer,
    AlbertQA,
    AlbertRegressor,
    AlbertTagger,
    AlbertVectorizer,
    load,
)
from albert_sk.efficiency import count_trainable, find_backbone, lora_rank_of
from albert_sk.exceptions import ParameterError

pytestmark = API_FITS

TINY = dict(backbone="tiny", vocab_size=150, max_length=48, batch_size=16)
# What trains with LoRA: the adapters, the query/value biases and the head.
# Fits on 24 to 32 texts: a vocabulary those texts support.
SMALL_DATA = dict(TINY, vocab_size=80, max_length=64)
LORA_PARTS = ("lora_kernel_a", "lora_kernel_b", "query/bias", "value/bias")


@pytest.fixture(scope="module")
def texts(sentiment):
    words = sentiment.text.str.split().str.len()
    short = sentiment[(words >= 4) & (words <= 9)].sample(48, random_state=0)
    return short.text.tolist(), short.label.to_numpy()


class Snapshot(keras.callbacks.Callback):
    """The model's weights (by path) when training starts."""

    def on_train_begin(self, logs=None):
        self.weights = {v.path: v.numpy().copy() for v in self.model.weights}


@pytest.fixture(scope="module")
def lora(texts):
    X, y = texts
    snapshot = Snapshot()
    clf = AlbertClassifier(
        **TINY,
        epochs=3,
        learning_rate=1e-2,
        pooling="cls",
        lora_rank=2,
        inference_dtype="int8",
        callbacks=[snapshot],
        random_state=0,
    ).fit(X, y)
    clf.set_params(callbacks=None)
    return clf, snapshot.weights


def float_proba(clf, X):
    params = clf.get_params()
    clf.set_params(inference_dtype="float32")
    try:
        return clf.predict_proba(X)
    finally:
        clf.set_params(**params)


# === lora_rank ===


def test_only_adapters_and_head_train(lora):
    clf, before = lora
    trainable = [v.path for v in clf.model_.trainable_weights]
    backbone = [p for p in trainable if not p.startswith("logits/")]
    assert backbone and all(p.endswith(LORA_PARTS) for p in backbone)
    assert {"logits/kernel", "logits/bias"} <= set(trainable)
    assert count_trainable(clf.model_) < 0.1 * clf.model_.count_params()
    assert lora_rank_of(find_backbone(clf.model_)) == 2
    for variable in clf.model_.weights:
        changed = not np.array_equal(variable.numpy(), before[variable.path])
        if variable.trainable and "lora_kernel" in variable.path:
            assert changed, variable.path
        elif not variable.trainable:
            assert not changed, variable.path  # frozen: the pretrained value


def test_save_load_and_pickle_predict_exactly(lora, texts, tmp_path):
    clf, _ = lora
    X, _ = texts
    expected = float_proba(clf, X)
    loaded = load(clf.save(tmp_path / "lora.zip"))
    assert loaded.get_params()["lora_rank"] == 2
    assert loaded.get_params()["inference_dtype"] == "int8"
    assert loaded.model_.dtype == "float32"  # save writes the float model
    # The same up to float32 rounding: the merge W + scale * A @ B is
    # computed once on save instead of in every step.
    np.testing.assert_allclose(float_proba(loaded, X), expected, rtol=0, atol=1e-6)
    unpickled = pickle.loads(pickle.dumps(clf))
    assert "_inference_model_cache" not in unpickled.__dict__
    np.testing.assert_allclose(float_proba(unpickled, X), expected, rtol=0, atol=1e-6)
    # A warm start of the loaded (merged) model trains new adapters.
    loaded.set_params(warm_start=True, epochs=1)
    loaded.fit(*texts)
    assert lora_rank_of(find_backbone(loaded.model_)) == 2
    assert count_trainable(loaded.model_) == count_trainable(clf.model_)
    assert np.abs(float_proba(loaded, X) - expected).max() > 1e-4


def test_warm_start_keeps_the_rank(lora, texts):
    clf, _ = lora
    clf.set_params(warm_start=True, lora_rank=4)
    try:
        with pytest.raises(ParameterError, match="lora_rank=2"):
            clf.fit(*texts)  # raised before any training
    finally:
        clf.set_params(warm_start=False, lora_rank=2)


def test_grid_search_over_lora_rank(texts):
    X, y = texts
    search = GridSearchCV(
        AlbertClassifier(**SMALL_DATA, epochs=1, random_state=0),
        {"lora_rank": [None, 2]},
        cv=2,
        refit=False,
        error_score="raise",
    ).fit(X, y)
    assert list(search.cv_results_["param_lora_rank"]) == [None, 2]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_export_hf_writes_merged_weights(lora, texts, tmp_path):
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    from albert_sk import export_hf

    clf, _ = lora
    X, _ = texts
    out = export_hf(clf, tmp_path / "hf")
    model = transformers.AutoModelForSequenceClassification.from_pretrained(out)
    names = [name for name, _ in model.named_parameters()]
    assert not [n for n in names if "lora" in n]
    batch = transformers.AutoTokenizer.from_pretrained(out)(
        X, padding=True, return_tensors="pt"
    )
    with torch.no_grad():
        logits = model.eval()(**batch).logits.numpy().astype(np.float64)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(float_proba(clf, X), proba, atol=1e-5)


# === inference_dtype ===


def test_int8_and_bfloat16_predict_close_to_float32(lora, texts):
    clf, _ = lora
    X, _ = texts
    expected = float_proba(clf, X)
    for dtype in ("int8", "bfloat16"):
        clf.set_params(inference_dtype=dtype)
        proba = clf.predict_proba(X)
        agree = (proba.argmax(axis=1) == expected.argmax(axis=1)).mean()
        assert agree >= 0.9, dtype
        np.testing.assert_allclose(proba, expected, atol=0.05)
    assert clf.model_.dtype == "float32"  # model_ stays the float model
    clf.set_params(inference_dtype="int8")


def test_set_params_after_fit_switches_the_model(lora, texts):
    clf, _ = lora
    X, _ = texts
    clf.predict_proba(X)
    cached = clf.__dict__["_inference_model_cache"][2]
    modes = {
        getattr(layer, "quantization_mode", None) for layer in cached._flatten_layers()
    }
    assert "int8" in modes
    clf.set_params(inference_dtype="int8")  # set_params drops the copy
    assert "_inference_model_cache" not in clf.__dict__
    clf.set_params(inference_dtype="float32")
    np.testing.assert_array_equal(clf.predict_proba(X), float_proba(clf, X))
    assert "_inference_model_cache" not in clf.__dict__
    clf.set_params(inference_dtype="int8")


def test_clone_and_pickle_keep_the_parameters(lora):
    clf, _ = lora
    for copy in (clone(clf), pickle.loads(pickle.dumps(clone(clf)))):
        assert copy.get_params()["lora_rank"] == 2
        assert copy.get_params()["inference_dtype"] == "int8"


@pytest.mark.parametrize(
    "params", [{"lora_rank": 0}, {"lora_rank": 1.5}, {"inference_dtype": "float16"}]
)
def test_invalid_values_raise(params, texts):
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        AlbertClassifier(**TINY, **params).fit(*texts)


def test_estimators_that_do_not_fine_tune_have_no_lora_rank():
    for cls in (AlbertVectorizer, AlbertPretrainer):
        assert "lora_rank" not in cls().get_params()


# === the other estimators ===


def test_regressor_tagger_and_qa_fit_adapters(texts):
    X, y = texts
    X, y = X[:32], y[:32]
    words = [t.split() for t in X]
    tags = [["B-X" if i == 0 else "O" for i in range(len(w))] for w in words]
    qa_X = [{"question": "what?", "context": t} for t in X]
    qa_y = [t.split()[1] for t in X]
    for est, (Xf, yf) in (
        (AlbertRegressor(**SMALL_DATA, epochs=1), (X, y.astype(float))),
        (AlbertTagger(**SMALL_DATA, epochs=1), (words, tags)),
        (
            AlbertQA(**SMALL_DATA, epochs=1, doc_stride=8, max_query_length=8),
            (qa_X, qa_y),
        ),
    ):
        est.set_params(lora_rank=2, inference_dtype="int8", random_state=0).fit(Xf, yf)
        trainable = [v.path for v in est.model_.trainable_weights]
        backbone = [p for p in trainable if p.endswith(LORA_PARTS)]
        assert len(backbone) == 6 and len(trainable) == 8, type(est).__name__
        est.predict(Xf[:4])  # through the int8 copy
