"""AlbertClassifier learns from real data: SST-2 sentences, held-out accuracy.

A tiny model trained from scratch (vocabulary included) on 2,000 SST-2
sentences must beat the majority class on 500 sentences it never saw. It runs
the graph path users get (no eager mode) and stays in the default run.
"""

import numpy as np
import pytest

from albert_sk import AlbertClassifier
from albert_sk.exceptions import TruncationWarning


def test_sst2_held_out_accuracy_beats_majority(sst2_small):
    train, test = sst2_small.iloc[:2000], sst2_small.iloc[2000:2500]
    clf = AlbertClassifier(
        backbone="tiny",
        vocab_size=2000,
        max_length=64,
        epochs=3,
        batch_size=32,
        random_state=0,
    )
    # A few long SST-2 sentences do not fit in 64 tokens; that is counted.
    with pytest.warns(TruncationWarning, match=r"of 2000 texts were longer"):
        clf.fit(train.text, train.label)
    with pytest.warns(TruncationWarning, match=r"of 500 texts were longer"):
        proba = clf.predict_proba(test.text)
    predicted = clf.classes_[proba.argmax(axis=1)]
    accuracy = float(np.mean(predicted == test.label.to_numpy()))
    majority = float(test.label.value_counts(normalize=True).max())
    print(f"SST-2 held-out accuracy {accuracy:.3f}, majority class {majority:.3f}")
    assert accuracy >= majority + 0.08
    # Probabilities carry the ranking too: positive sentences score higher.
    positive = proba[:, list(clf.classes_).index(1)]
    labels = test.label.to_numpy()
    assert positive[labels == 1].mean() > positive[labels == 0].mean() + 0.05
