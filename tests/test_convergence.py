"""Collapse and divergence are never silent: ``ConvergenceWarning`` at the end of fit.

The numpy checks are pinned on the numbers of a real collapse (a 4-class
fit whose loss stayed at ln 4); then every estimator that trains is forced
to collapse or diverge with ``learning_rate=1.0`` on real text and must warn
with the numbers and the fix. Healthy fits warning is caught everywhere
else: the suite turns every warning into an error.
"""

import math

import numpy as np
import pytest
from _data import require
from sklearn.exceptions import ConvergenceWarning

from albert_sk import (
    AlbertClassifier,
    AlbertPretrainer,
    AlbertQA,
    AlbertRegressor,
    AlbertTagger,
    convergence,
)
from albert_sk.io import read_conll, read_squad

TINY = dict(backbone="tiny", vocab_size=200, max_length=64, random_state=0)
FIX = r"To fix it, lower learning_rate \(it was 1\), train for more epochs"


def test_the_reported_collapse_is_diagnosed_with_its_numbers():
    # Issue 11: training loss per epoch [1.395, 1.391, 1.388] on 4 balanced classes.
    labels = np.repeat(np.arange(4), 50)
    constant = convergence.constant_classification_loss(labels, None, 4)
    assert constant == pytest.approx(math.log(4))
    problem = convergence.diagnose(
        [1.395, 1.391, 1.388], first=1.41, constant=(constant, "the class frequencies")
    )
    assert problem == (
        "the training loss went from 1.410 (first batch) to 1.388 (per epoch: "
        "[1.395, 1.391, 1.388]), not clearly below the loss of always predicting "
        "the class frequencies (1.386): the model learned next to nothing from "
        "the texts"
    )
    # It began to learn, then collapsed: the end of the fit is what counts.
    assert convergence.diagnose([1.278, 1.368, 1.388], first=1.41) is not None
    # Under early stopping the restored epoch counts instead.
    assert convergence.diagnose([1.278, 1.368, 1.388], first=1.41, end=0) is None


def test_healthy_losses_and_non_finite_losses():
    assert convergence.diagnose([1.395, 0.932, 0.579], first=1.41) is None
    problem = convergence.diagnose([0.9, float("nan")], first=1.0)
    assert problem.startswith("the training loss became nan in epoch 2")
    assert convergence.diagnose([], first=1.0) is None


def test_weighted_constant_losses():
    labels = np.array([0, 0, 0, 1])
    balanced = np.array([2 / 3, 2 / 3, 2 / 3, 2.0])
    # Balanced weights: the weighted prior is uniform, the loss is ln 2.
    loss = convergence.constant_classification_loss(labels, balanced, 2)
    assert loss == pytest.approx(math.log(2))
    z = np.array([[-1.0], [1.0]])
    assert convergence.constant_regression_loss(z, None) == pytest.approx(1.0)
    y = np.array([[1, 0], [0, 0]])
    assert convergence.constant_multilabel_loss(y, None) == pytest.approx(
        math.log(2) / 2
    )


def test_collapse_needs_one_class_for_nearly_every_row():
    labels = np.repeat([0, 1, 2, 3], 25)
    message = convergence.collapse(np.full(100, 2), labels, ["a", "b", "c", "d"])
    assert message == (
        "it predicts the class 'c' for 100% of 100 training texts sampled, though "
        "only 25% of them have that label: the model collapsed to one class"
    )
    assert convergence.collapse(labels, labels, list("abcd")) is None
    # A class that really is 95% of the data may be predicted everywhere.
    skewed = np.r_[np.zeros(95, int), np.ones(5, int)]
    assert convergence.collapse(np.zeros(100, int), skewed, [0, 1]) is None


def test_classifier_forced_to_collapse_warns_with_the_fix(sentiment_small):
    clf = AlbertClassifier(**TINY, epochs=2, learning_rate=1.0)
    with pytest.warns(
        ConvergenceWarning, match="AlbertClassifier did not converge: "
    ) as rec:
        clf.fit(sentiment_small.text, sentiment_small.label)
    assert rec[0].filename == __file__  # the user's line, not the library's
    message = str(rec[0].message)
    assert re_search(
        FIX + r" \(it was 2\) or start from a pretrained preset\.", message
    )
    assert "per epoch: [" in message


def test_regressor_forced_to_collapse_warns(sentiment_small):
    reg = AlbertRegressor(**TINY, epochs=2, learning_rate=1.0)
    with pytest.warns(ConvergenceWarning, match="AlbertRegressor did not converge: "):
        reg.fit(sentiment_small.text, sentiment_small.label.astype(float))


@pytest.fixture(scope="module")
def wnut_sentences(data_dir):
    words, tags = read_conll(require(data_dir / "wnut17" / "wnut17train.conll"))
    return words[:120], tags[:120]


def test_tagger_forced_to_collapse_warns(wnut_sentences):
    words, tags = wnut_sentences
    tagger = AlbertTagger(**TINY, epochs=2, learning_rate=1.0)
    with pytest.warns(
        ConvergenceWarning, match="AlbertTagger did not converge: "
    ) as rec:
        tagger.fit(words, tags)
    assert rec[0].filename == __file__


def test_qa_forced_to_collapse_warns(data_dir):
    frame = read_squad(require(data_dir / "squad" / "dev-v1.1-part-a.json"))
    frame = frame[frame.context.str.len() < 400].head(40)
    qa = AlbertQA(
        backbone="tiny",
        vocab_size=150,
        max_length=96,
        doc_stride=48,
        epochs=2,
        learning_rate=1.0,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="AlbertQA did not converge: "):
        qa.fit(frame, frame.answers)


def test_pretrainer_forced_to_diverge_warns(sentiment):
    pre = AlbertPretrainer(
        backbone="tiny",
        vocab_size=300,
        max_length=32,
        epochs=1,
        learning_rate=1.0,
        random_state=0,
    )
    with pytest.warns(ConvergenceWarning, match="AlbertPretrainer did not converge: "):
        pre.fit(sentiment.text.tolist()[:400])


def re_search(pattern, text):
    import re

    return re.search(pattern, text) is not None


@pytest.mark.parametrize(
    ("learning_rate", "losses", "first"),
    [
        ("auto", [0.70, 0.69], "train for more epochs (it was 2), lower learning_rate"),
        (1e-4, [0.70, 0.69], "train for more epochs (it was 2), lower learning_rate"),
        (1.0, [0.70, 0.69], "lower learning_rate (it was 1), train for more epochs"),
        ("auto", [0.70, float("nan")], "lower learning_rate (it was 0.001), train"),
    ],
)
def test_the_likelier_fix_comes_first(learning_rate, losses, first):
    # Issue 34: a short fit at the measured rate learned too little; more
    # epochs is the fix to try first. A rate above the measured one, or a
    # loss that is no number, points at the learning rate.
    clf = AlbertClassifier(**TINY, epochs=2, learning_rate=learning_rate)
    clf.history_ = {"loss": losses}
    with pytest.warns(ConvergenceWarning) as rec:
        convergence.warn(clf, "it learned nothing", from_scratch=True)
    assert f"To fix it, {first}" in str(rec[0].message)
    assert str(rec[0].message).endswith(" or start from a pretrained preset.")
