"""warm_start keeps the weights and the AdamW state; what is kept, exactly."""

import math
import pickle
import warnings

import keras
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from albert_sk import AlbertClassifier
from albert_sk.exceptions import VocabularyWarning

X = ["good film", "bad film", "great movie", "awful movie", "fine show"] * 8
y = [1, 0, 1, 0, 1] * 8
BATCH = 8
STEPS = math.ceil(len(X) / BATCH)  # optimizer steps per epoch


def _fit(clf):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", VocabularyWarning)
        return clf.fit(X, y)


def _state(optimizer):
    """Step count and the first weight's first moment (momentum), as numpy."""
    names = [v.path for v in optimizer.variables]
    momentum = next(i for i, n in enumerate(names) if n.endswith("_momentum"))
    return (
        int(keras.ops.convert_to_numpy(optimizer.iterations)),
        np.array(keras.ops.convert_to_numpy(optimizer.variables[momentum])),
    )


@pytest.fixture(scope="module")
def fitted():
    clf = AlbertClassifier(
        backbone="tiny",
        vocab_size=100,
        max_length=16,
        epochs=1,
        batch_size=BATCH,
        random_state=0,
    )
    return _fit(clf)


def test_warm_fit_keeps_the_optimizer_state(fitted):
    clf = pickle.loads(pickle.dumps(fitted))
    optimizer = clf.model_.optimizer
    steps, momentum = _state(optimizer)
    assert steps == STEPS and np.abs(momentum).sum() > 0
    clf.set_params(warm_start=True, epochs=2)
    _fit(clf)
    assert clf.model_.optimizer is optimizer  # not a fresh AdamW
    after, momentum_after = _state(optimizer)
    assert after == STEPS + 2 * STEPS  # the step count goes on
    assert not np.allclose(momentum_after, 0)
    assert len(clf.history_["loss"]) == 3


def test_warm_fit_learning_rate_restarts_without_warmup(fitted):
    clf = pickle.loads(pickle.dumps(fitted))
    clf.set_params(warm_start=True, epochs=2, warmup_ratio=0.5)
    _fit(clf)
    schedule = clf.model_.optimizer._learning_rate
    peak = clf._learning_rate()
    # From the first new step on: the full rate, then a linear decay to 0
    # at the end of this fit; no second warmup.
    assert float(schedule(STEPS)) == pytest.approx(peak)
    assert float(schedule(STEPS + STEPS)) == pytest.approx(peak / 2)
    assert float(schedule(3 * STEPS)) == pytest.approx(0.0, abs=1e-12)


def test_cold_fit_builds_a_fresh_optimizer(fitted):
    clf = pickle.loads(pickle.dumps(fitted))
    optimizer = clf.model_.optimizer
    _fit(clf)  # warm_start=False
    assert clf.model_.optimizer is not optimizer
    assert _state(clf.model_.optimizer)[0] == STEPS
    assert len(clf.history_["loss"]) == 1


def test_warm_fit_after_load_starts_a_fresh_optimizer(fitted, tmp_path):
    # A saved file holds the weights, not the optimizer: a warm fit of a
    # loaded model continues the weights with a new AdamW (warmup included).
    clf = AlbertClassifier.load(fitted.save(tmp_path / "clf.albert"))
    clf.set_params(warm_start=True)
    _fit(clf)
    assert _state(clf.model_.optimizer)[0] == STEPS
    assert len(clf.history_["loss"]) == 2
