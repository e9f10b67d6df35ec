"""AlbertRegressor: numeric targets from texts, on real data."""

import pickle

import numpy as np
import pandas as pd
import pytest
from _marks import API_FITS
from sklearn.base import clone
from sklearn.metrics import r2_score

from albert_sk import AlbertRegressor, load
from albert_sk.exceptions import InputError
from albert_sk.io import read_sst2

pytestmark = API_FITS

TINY = dict(backbone="tiny", vocab_size=1000, max_length=128, random_state=0)


@pytest.fixture(scope="module")
def sst2(sst2_path):
    frame = read_sst2(sst2_path, n=2600)
    return frame.iloc[:2000], frame.iloc[2000:]


@pytest.fixture(scope="module")
def fitted(sst2):
    train, _ = sst2
    return AlbertRegressor(epochs=3, **TINY).fit(train.text, train.label.astype(float))


def test_learns_sentiment_score_on_sst2(fitted, sst2):
    # The SST-2 label read as a number: R² > 0 means it beats predicting the
    # mean, which is what a model that learnt nothing would do.
    _, test = sst2
    r2 = fitted.score(test.text, test.label.astype(float))
    assert r2 > 0.05
    assert r2 == pytest.approx(r2_score(test.label, fitted.predict(test.text)))


def test_predictions_are_on_the_target_scale(fitted, sst2):
    _, test = sst2
    pred = fitted.predict(test.text)
    assert pred.shape == (len(test),)
    # Standardisation is undone: predictions live around the label range.
    assert -0.5 < pred.mean() < 1.5


TOY = pytest.mark.filterwarnings("ignore::albert_sk.exceptions.VocabularyWarning")


@TOY
def test_two_dimensional_targets_and_pairs():
    texts = [("a cat", "a dog"), ("big house", "small house")] * 12
    y = np.array([[1.0, 10.0], [2.0, 20.0]] * 12)
    reg = AlbertRegressor(epochs=1, **{**TINY, "vocab_size": 64}).fit(texts, y)
    assert reg.n_outputs_ == 2
    assert reg.predict(texts).shape == (24, 2)
    with pytest.raises(InputError, match="fitted on text pairs but got single"):
        reg.predict(["a cat"])


def test_pickle_save_load_and_clone(fitted, sst2, tmp_path):
    _, test = sst2
    expected = fitted.predict(test.text[:50])
    # Equal up to float32 round-off (oneDNN kernels may sum in another order).
    np.testing.assert_allclose(
        pickle.loads(pickle.dumps(fitted)).predict(test.text[:50]), expected, rtol=1e-5
    )
    fitted.save(tmp_path / "reg.albert")
    loaded = load(tmp_path / "reg.albert")
    assert isinstance(loaded, AlbertRegressor)
    np.testing.assert_allclose(loaded.predict(test.text[:50]), expected, rtol=1e-5)
    assert not hasattr(clone(fitted), "model_")


@pytest.mark.parametrize(
    "y, message",
    [
        ([1.0, None, 3.0], "missing target .* row 1"),
        ([1.0, "high", 3.0], "numeric targets, but row 1 of y is 'high'"),
        ([1.0, float("inf"), 3.0], "finite targets, but row 1"),
        ([1.0, 2.0], "same number of rows, but X has 3 and y has 2"),
        (None, "needs numeric targets y, but got y=None"),
    ],
)
def test_bad_targets(y, message):
    with pytest.raises(InputError, match=message):
        AlbertRegressor(**TINY).fit(["a", "b", "c"], y)


@TOY
def test_series_target_keeps_1d_output():
    texts = pd.Series(
        ["short", "a bit longer text", "the longest text of them all"] * 8
    )
    y = pd.Series([1.0, 4.0, 7.0] * 8, name="length")
    reg = AlbertRegressor(epochs=1, **{**TINY, "vocab_size": 64}).fit(texts, y)
    assert reg.predict(texts).ndim == 1
