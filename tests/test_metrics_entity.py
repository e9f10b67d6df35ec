"""Entity-level F1: strict IOB2, checked against seqeval on random and real tags."""

import numpy as np
import pandas as pd
import pytest
from _data import require
from seqeval.metrics import classification_report as seqeval_report
from seqeval.metrics import f1_score as seqeval_f1
from seqeval.scheme import IOB2, IOBES
from sklearn.base import BaseEstimator

from albert_sk.align import from_iob2, repair_iob2, to_iob2
from albert_sk.exceptions import InputError
from albert_sk.io import read_conll
from albert_sk.metrics import entity_f1_score, entity_f1_scorer, entity_report

TAGS = ["O", "O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]


def random_tags(rng, n_sentences, max_len=12):
    return [
        [str(t) for t in rng.choice(TAGS, size=rng.integers(0, max_len))]
        for _ in range(n_sentences)
    ]


def perturb(rng, sequences, p=0.3):
    """Predictions: the gold tags with a share of them replaced at random."""
    out = []
    for seq in sequences:
        seq = list(seq)
        for j in range(len(seq)):
            if rng.random() < p:
                seq[j] = str(rng.choice(TAGS))
        out.append(seq)
    return out


def seqeval_strict(gold, pred, average="micro", scheme=IOB2):
    return seqeval_f1(
        gold, pred, mode="strict", scheme=scheme, average=average, zero_division=0
    )


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("average", ["micro", "macro"])
def test_matches_seqeval_on_random_tags(seed, average):
    # Random tags hold many invalid sequences (I- after O, type changes), the
    # cases where strict and lenient scoring differ.
    rng = np.random.default_rng(seed)
    gold = random_tags(rng, 30)
    pred = perturb(rng, gold)
    ours = entity_f1_score(gold, pred, average=average)
    assert ours == pytest.approx(seqeval_strict(gold, pred, average), abs=1e-12)


def test_matches_seqeval_on_real_wnut_tags(data_dir):
    _, gold = read_conll(require(data_dir / "wnut17" / "emerging.dev.conll"))
    pred = perturb(np.random.default_rng(0), gold, p=0.05)
    for average in ("micro", "macro"):
        ours = entity_f1_score(gold, pred, average=average)
        assert ours == pytest.approx(seqeval_strict(gold, pred, average), abs=1e-12)
    assert entity_f1_score(gold, gold) == 1.0


def test_report_matches_seqeval_report():
    rng = np.random.default_rng(7)
    gold = random_tags(rng, 40)
    pred = perturb(rng, gold)
    theirs = seqeval_report(
        gold, pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0
    )
    ours = entity_report(gold, pred)
    assert isinstance(ours, pd.DataFrame)
    assert list(ours.columns) == ["precision", "recall", "f1-score", "support"]
    for name, row in theirs.items():
        for column in ("precision", "recall", "f1-score", "support"):
            assert ours.loc[name, column] == pytest.approx(row[column], abs=1e-12)


def test_bioes_scheme_matches_seqeval_iobes():
    rng = np.random.default_rng(3)
    gold_iob2 = [repair_iob2(s) for s in random_tags(rng, 30)]
    pred_iob2 = [repair_iob2(s) for s in perturb(rng, gold_iob2)]
    gold = [from_iob2(s, "BIOES") for s in gold_iob2]
    pred = [from_iob2(s, "BIOES") for s in pred_iob2]
    assert [to_iob2(s, "BIOES") for s in gold] == gold_iob2
    ours = entity_f1_score(gold, pred, scheme="BIOES")
    assert ours == pytest.approx(seqeval_strict(gold, pred, scheme=IOBES), abs=1e-12)
    assert ours == entity_f1_score(gold_iob2, pred_iob2)


def test_edge_cases():
    assert entity_f1_score([["O", "O"]], [["O", "O"]]) == 0.0
    assert entity_f1_score([[]], [[]]) == 0.0
    assert entity_f1_score([["B-PER"]], [["I-PER"]]) == 0.0  # stray I- is no entity
    assert entity_f1_score([["B-PER", "I-PER"]], [["B-PER", "I-PER"]]) == 1.0
    assert entity_f1_score([["B-PER", "I-PER"]], [["B-PER", "O"]]) == 0.0
    assert entity_report([["O"]], [["O"]]).loc["micro avg", "support"] == 0


def test_scorer_calls_predict():
    class Echo(BaseEstimator):
        def predict(self, X):
            return [["B-PER" if w.istitle() else "O" for w in s] for s in X]

    X = [["Ada", "met", "Bob"], ["hi"]]
    y = [["B-PER", "O", "B-PER"], ["O"]]
    assert entity_f1_scorer(Echo(), X, y) == 1.0
    y_wrong = [["B-PER", "O", "O"], ["O"]]
    assert entity_f1_scorer(Echo(), X, y_wrong) == pytest.approx(2 / 3)


def test_errors_name_the_sentence():
    with pytest.raises(InputError, match="one tag list per sentence"):
        entity_f1_score([["O"]], [["O"], ["O"]])
    with pytest.raises(InputError, match="Sentence 1 has 2 gold tags but 1"):
        entity_f1_score([["O"], ["O", "O"]], [["O"], ["O"]])
    with pytest.raises(InputError, match="Sentence 0 word 1 has tag 'PER'"):
        entity_f1_score([["O", "PER"]], [["O", "O"]])
    with pytest.raises(InputError, match="average must be"):
        entity_f1_score([["O"]], [["O"]], average="weighted")
