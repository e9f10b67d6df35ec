"""Did a fit learn? Divergence and collapse checks behind ``ConvergenceWarning``.

A from-scratch ALBERT with too high a learning rate can end a fit at the loss
of a constant prediction (every text gets the majority class) without any
error. The estimators run these checks at the end of every ``fit`` and emit
scikit-learn's :class:`~sklearn.exceptions.ConvergenceWarning` with the
numbers and the fix. Numpy only: :class:`FirstLoss` is fed by a
``keras.callbacks.LambdaCallback`` that the estimator builds.
"""

import math
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from albert_sk.exceptions import user_stacklevel

# The loss at the end of a fit must be below this share of the reference (the
# first batch's loss, or the loss of the best constant prediction) for the
# fit to count as having learned. Healthy fits in benchmarks/bench_learning.py
# end at 0.13-0.80 of it; collapsed ones at 0.99-1.01.
LEARNED_RATIO = 0.95
# One class predicted for at least this share of the sampled training rows,
# while its share of y is at most MAX_CLASS_SHARE, is a collapse.
COLLAPSE_SHARE = 0.98
MAX_CLASS_SHARE = 0.9
# Training rows the classifier predicts after fit to look for a collapse.
COLLAPSE_SAMPLE = 512


class FirstLoss:
    """Keeps the loss of the first training batch of a fit."""

    def __init__(self):
        self.value = None

    def on_train_batch_end(self, batch, logs=None):
        if self.value is None and logs and "loss" in logs:
            self.value = float(logs["loss"])


def constant_classification_loss(labels, weights, n_classes):
    """Cross-entropy of always predicting the (weighted) class frequencies."""
    labels = np.asarray(labels)
    w = np.ones(len(labels)) if weights is None else np.asarray(weights, float)
    w = w.reshape(len(labels), -1)[:, 0]
    if not len(labels) or w.sum() <= 0:
        return None
    prior = np.bincount(labels, weights=w, minlength=n_classes) / w.sum()
    return float(np.mean(w * -np.log(np.maximum(prior[labels], 1e-12))))


def constant_multilabel_loss(indicators, weights):
    """Binary cross-entropy of always predicting each label's frequency."""
    y = np.asarray(indicators, float)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, float)
    if not len(y) or w.sum() <= 0:
        return None
    q = np.clip((w[:, None] * y).sum(axis=0) / w.sum(), 1e-7, 1 - 1e-7)
    bce = -(y * np.log(q) + (1 - y) * np.log(1 - q))
    return float(np.mean(w[:, None] * bce))


def constant_regression_loss(targets, weights):
    """Mean squared error of always predicting the (weighted) mean target."""
    z = np.asarray(targets, float).reshape(len(targets), -1)
    w = np.ones(len(z)) if weights is None else np.asarray(weights, float)
    if not len(z) or w.sum() <= 0:
        return None
    mean = (w[:, None] * z).sum(axis=0) / w.sum()
    return float(np.mean(w[:, None] * (z - mean) ** 2))


def _fmt(values):
    return "[" + ", ".join(f"{v:.3f}" for v in values) + "]"


def diagnose(losses, *, first=None, constant=None, end=-1):
    """What went wrong with a fit's training losses, or None if it learned.

    ``losses`` are the per-epoch training losses, ``first`` the first batch's
    loss, ``constant`` a pair ``(loss, what)``: the loss of the best constant
    prediction and what that prediction is (None where a task has none), and
    ``end`` the epoch whose weights the model keeps (the best one under early
    stopping).
    """
    losses = [float(v) for v in losses]
    if not losses:
        return None
    bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
    if bad:
        return (
            f"the training loss became {losses[bad[0]]} in epoch {bad[0] + 1} "
            f"(per epoch: {_fmt(losses)}), so the weights are no longer numbers "
            "and every prediction is meaningless"
        )
    final = losses[end]
    references = []
    if first is not None and math.isfinite(first) and first > 0:
        references.append((first, "the first batch's loss"))
    if constant is not None and constant[0] is not None and constant[0] > 0:
        references.append((constant[0], f"the loss of always predicting {constant[1]}"))
    if not references:
        return None
    reference, what = min(references)
    if final <= LEARNED_RATIO * reference:
        return None
    start = f"{first:.3f} (first batch) to " if first is not None else ""
    return (
        f"the training loss went from {start}{final:.3f} (per epoch: "
        f"{_fmt(losses)}), not clearly below {what} ({reference:.3f}): the model "
        "learned next to nothing from the texts"
    )


def collapse(predicted, labels, classes):
    """A message when (nearly) every sampled row gets one class, else None."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    if len(predicted) < 10:
        return None
    counts = np.bincount(predicted, minlength=len(classes))
    top = int(counts.argmax())
    share = counts[top] / len(predicted)
    true_share = float(np.mean(labels == top))
    if share < COLLAPSE_SHARE or true_share > MAX_CLASS_SHARE:
        return None
    return (
        f"it predicts the class {classes[top]!r} for {share:.0%} of "
        f"{len(predicted)} training texts sampled, though only {true_share:.0%} "
        "of them have that label: the model collapsed to one class"
    )


def warn(estimator, problem, *, from_scratch):
    """Emit the ``ConvergenceWarning`` for ``problem`` (a no-op for None),
    pointed at the user's line."""
    if problem is None:
        return
    message = advice(
        type(estimator).__name__,
        problem,
        learning_rate=estimator._learning_rate(),
        epochs=estimator._epochs(),
        from_scratch=from_scratch,
        rate_first=_rate_first(estimator),
    )
    warnings.warn(message, ConvergenceWarning, stacklevel=user_stacklevel())


def _rate_first(estimator):
    """Whether the learning rate is the likelier culprit than too few epochs.

    It is when the loss stopped being a number, or when the rate is above
    the one ``learning_rate="auto"`` picks for this model; a fit at (or
    below) the measured rate that learned nothing most likely ended too soon.
    """
    losses = (getattr(estimator, "history_", None) or {}).get("loss", [])
    if any(not math.isfinite(float(v)) for v in losses):
        return True
    return estimator._learning_rate() > estimator._auto_learning_rate()


def advice(
    estimator_name, problem, *, learning_rate, epochs, from_scratch, rate_first=True
):
    """The whole warning text: who, what happened, the fix (the likelier first)."""
    fixes = [
        f"lower learning_rate (it was {learning_rate:g})",
        f"train for more epochs (it was {epochs})",
    ]
    if not rate_first:
        fixes.reverse()
    if from_scratch:
        fixes.append("start from a pretrained preset")
    return (
        f"{estimator_name} did not converge: {problem}. To fix it, "
        + ", ".join(fixes[:-1])
        + f" or {fixes[-1]}."
    )
