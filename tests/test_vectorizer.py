"""AlbertVectorizer: texts to embeddings as a scikit-learn transformer."""

import pickle

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from albert_sk import AlbertVectorizer, load
from albert_sk.exceptions import NotFittedError, VocabularyWarning
from albert_sk.text import AUTO_VOCAB_SIZE, MIN_VOCAB_SIZE

TINY = dict(backbone="tiny", vocab_size=400, random_state=0)


@pytest.fixture(scope="module")
def texts(sentiment):
    return sentiment.text.tolist()


def test_transform_shape_dtype_and_feature_names(texts):
    vec = AlbertVectorizer(**TINY).fit(texts[:200])
    emb = vec.transform(texts[:10])
    assert emb.shape == (10, 64) and emb.dtype == np.float32
    assert vec.get_feature_names_out()[0] == "albertvectorizer0"
    vec.set_output(transform="pandas")
    frame = vec.transform(texts[:3])
    assert list(frame.columns) == list(vec.get_feature_names_out())


def test_mean_pooling_ignores_padding(texts):
    # A text's embedding must not depend on which other texts share its batch
    # (padding length): embed alone and among long texts.
    vec = AlbertVectorizer(**TINY).fit(texts[:200])
    alone = vec.transform([texts[0]])
    longest = sorted(texts[:200], key=len)[-5:]
    batched = vec.transform([texts[0], *longest])[0]
    np.testing.assert_allclose(alone[0], batched, atol=1e-5)


def test_cls_pooling_is_the_backbone_pooled_output(texts):
    vec = AlbertVectorizer(pooling="cls", **TINY).fit(texts[:200])
    enc = vec.tokenizer_.pack(vec.tokenizer_.encode(texts[:4]), max_length=128)
    batch = enc.batch(np.arange(4), int(enc.lengths.max()))
    backbone = next(
        layer for layer in vec.model_.layers if isinstance(layer, keras.Model)
    )
    pooled = keras.ops.convert_to_numpy(backbone(batch)["pooled_output"])
    np.testing.assert_allclose(vec.transform(texts[:4]), pooled, atol=1e-5)


def test_pipeline_runs_in_cross_validation(sentiment):
    vec = AlbertVectorizer(max_length=256, **TINY)  # a few IMDb lines are long
    pipe = make_pipeline(vec, LogisticRegression(max_iter=1000))
    y = sentiment.label[:600]
    scores = cross_val_score(pipe, sentiment.text[:600], y, cv=3)
    # Even untrained (random) ALBERT features carry which words a text has:
    # LogisticRegression on them beats the majority class (0.52) in every fold
    # (measured 0.55-0.66 over two seeds).
    majority = max(y.mean(), 1 - y.mean())
    assert scores.mean() > majority + 0.04 and scores.min() > majority


def test_embeddings_of_a_trained_preset_transfer(sentiment, tmp_path):
    # The real use: a backbone trained on text (here fine-tuned on half of the
    # sentiment sentences, saved as a keras-hub preset) embeds new text so a
    # linear model separates the classes of the other half.
    import json

    import keras_hub

    from albert_sk import AlbertClassifier

    data = sentiment.sample(frac=1.0, random_state=0)
    first, second = data.iloc[:1500], data.iloc[1500:]
    clf = AlbertClassifier(epochs=4, max_length=256, **TINY)
    clf.fit(first.text, first.label)
    backbone = next(m for m in clf.model_.layers if isinstance(m, keras.Model))
    backbone.save_to_preset(tmp_path)
    keras_hub.models.AlbertTokenizer(proto=clf.tokenizer_.proto).save_to_preset(
        tmp_path
    )
    (tmp_path / "albert_sk.json").write_text(
        json.dumps({"lowercase": True, "strip_accents": True})
    )
    vec = AlbertVectorizer(preset=str(tmp_path), max_length=256)
    pipe = make_pipeline(vec, LogisticRegression(max_iter=1000))
    pipe.fit(second.text[:1000], second.label[:1000])
    accuracy = pipe.score(second.text[1000:], second.label[1000:])
    assert accuracy > 0.6


def test_persistence_round_trips(texts, tmp_path):
    vec = AlbertVectorizer(**TINY).fit(texts[:100])
    expected = vec.transform(texts[:5])
    np.testing.assert_allclose(
        pickle.loads(pickle.dumps(vec)).transform(texts[:5]), expected, atol=1e-6
    )
    vec.save(tmp_path / "vec.albert")
    np.testing.assert_allclose(
        load(tmp_path / "vec.albert").transform(texts[:5]), expected, atol=1e-6
    )


def test_not_fitted():
    with pytest.raises(NotFittedError, match="AlbertVectorizer instance is not fitted"):
        AlbertVectorizer().transform(["text"])


def test_the_default_vocabulary_fits_the_texts_without_a_warning(texts, tmp_path):
    # Issue 34: the first fit on small data warned that vocab_size=8000 was
    # more than the texts support. "auto" trains what they support, quietly
    # (the suite turns warnings into errors).
    vec = AlbertVectorizer(backbone="tiny", max_length=32, random_state=0)
    assert vec.get_params()["vocab_size"] == "auto"
    vec.fit(texts[:200])
    assert MIN_VOCAB_SIZE < vec.tokenizer_.vocab_size < AUTO_VOCAB_SIZE
    assert clone(vec).get_params()["vocab_size"] == "auto"
    loaded = load(vec.save(tmp_path / "vec.albert"))
    assert loaded.get_params()["vocab_size"] == "auto"
    assert loaded.tokenizer_.vocab_size == vec.tokenizer_.vocab_size
    # A number the texts cannot support still says so, and gets the same
    # vocabulary.
    explicit = AlbertVectorizer(
        backbone="tiny", vocab_size=AUTO_VOCAB_SIZE, max_length=32, random_state=0
    )
    with pytest.warns(VocabularyWarning, match="vocab_size=8000 is more than"):
        explicit.fit(texts[:200])
    assert explicit.tokenizer_.vocab_size == vec.tokenizer_.vocab_size


def test_vocab_size_is_a_number_or_auto(texts):
    with pytest.raises(InvalidParameterError, match=r"a str among \{'auto'\}"):
        AlbertVectorizer(backbone="tiny", vocab_size="large").fit(texts[:20])
