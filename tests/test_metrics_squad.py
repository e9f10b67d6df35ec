"""SQuAD exact match and F1: hand-worked cases of the official evaluation script."""

import json
import re
import string
from collections import Counter

import numpy as np
import pytest
from _data import DATA, bundled, require
from sklearn.base import BaseEstimator

from albert_sk.exceptions import InputError
from albert_sk.metrics import (
    answer_exact_match,
    answer_f1,
    gold_answer_texts,
    normalize_answer,
    squad_evaluate,
    squad_exact_match,
    squad_exact_match_scorer,
    squad_f1,
    squad_f1_scorer,
)

SQUAD = DATA / "squad"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The Denver Broncos", "denver broncos"),
        ("  an   Apple,  a pear. ", "apple pear"),
        ("Theater", "theater"),  # "the" only as a whole word
        ("U.S.-based", "usbased"),
        ("A", ""),
        ("(1990–2000)", "1990–2000"),  # the en dash is not ASCII punctuation
        ("Ann's", "anns"),
    ],
)
def test_normalize_answer_follows_the_official_rules(text, expected):
    assert normalize_answer(text) == expected


def test_answer_f1_hand_worked():
    # pred {denver, broncos}, gold {broncos}: P = 1/2, R = 1, F1 = 2/3.
    assert answer_f1("Denver Broncos", "the Broncos") == pytest.approx(2 / 3)
    # Repeated tokens count with multiplicity: pred "x x y", gold "x y y",
    # common = min(2,1) for x + min(1,2) for y = 2, P = 2/3, R = 2/3.
    assert answer_f1("x x y", "x y y") == pytest.approx(2 / 3)
    assert answer_f1("Panthers", "Broncos") == 0.0
    assert answer_f1("", "") == 1.0  # both "no answer"
    assert answer_f1("", "Broncos") == 0.0
    assert answer_f1("the", "") == 1.0  # normalises to nothing
    assert answer_exact_match("The Broncos.", "broncos") == 1
    assert answer_exact_match("Broncos", "Denver Broncos") == 0


def test_max_over_gold_answers_and_mean_over_questions():
    golds = [
        ["Denver Broncos", "Broncos", "the Denver Broncos"],
        [{"text": "Santa Clara, California", "answer_start": 0}],
        "Carolina Panthers",
    ]
    preds = ["Broncos", "Santa Clara", "Panthers of Carolina"]
    # q1: exact via "Broncos" -> EM 1, F1 1.
    # q2: P = 2/2, R = 2/3 -> F1 = 0.8, EM 0.
    # q3: pred {panthers, of, carolina}, gold {carolina, panthers}: P = 2/3,
    #     R = 1 -> F1 = 0.8, EM 0.
    assert squad_exact_match(golds, preds) == pytest.approx(1 / 3)
    assert squad_f1(golds, preds) == pytest.approx((1 + 0.8 + 0.8) / 3)


def test_no_answer_questions_follow_squad_2():
    golds = ["", None, [], "Broncos", [{"text": "", "answer_start": -1}]]
    preds = ["", "Broncos", "", "", ""]
    # no-answer golds: q0 right, q1 wrong, q2 right, q4 right; q3 has an answer.
    result = squad_evaluate(golds, preds)
    assert result == {
        "exact": 60.0,
        "f1": 60.0,
        "total": 5,
        "HasAns_exact": 0.0,
        "HasAns_f1": 0.0,
        "HasAns_total": 1,
        "NoAns_exact": 75.0,
        "NoAns_f1": 75.0,
        "NoAns_total": 4,
    }
    assert squad_evaluate(["Broncos"], ["Broncos"]) == {
        "exact": 100.0,
        "f1": 100.0,
        "total": 1,
        "HasAns_exact": 100.0,
        "HasAns_f1": 100.0,
        "HasAns_total": 1,
    }


def test_gold_answer_texts_forms():
    assert gold_answer_texts("x") == ["x"]
    assert gold_answer_texts({"text": "x", "answer_start": 3}) == ["x"]
    assert gold_answer_texts(["x", {"text": "y"}]) == ["x", "y"]
    assert gold_answer_texts(None) == [""]
    assert gold_answer_texts(float("nan")) == [""]
    assert gold_answer_texts(["the", ""]) == [""]


def test_length_mismatch_is_an_error():
    with pytest.raises(InputError, match="y_true has 2 and y_pred has 1"):
        squad_f1(["a", "b"], ["a"])


def test_scorers_call_predict():
    class Fixed(BaseEstimator):
        def predict(self, X):
            return np.asarray(["Broncos"] * len(X), dtype=object)

        def fit(self, X, y):
            return self

    X = ["q1", "q2"]
    y = ["Denver Broncos", "Broncos"]
    assert squad_f1_scorer(Fixed(), X, y) == pytest.approx((2 / 3 + 1) / 2)
    assert squad_exact_match_scorer(Fixed(), X, y) == 0.5


# The official v2.0 evaluation script's functions, verbatim in logic, as a
# second opinion on real data.
def _official_normalize(s):
    def remove_articles(text):
        return re.sub(re.compile(r"\b(a|an|the)\b", re.UNICODE), " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def _official_f1(a_gold, a_pred):
    gold_toks = _official_normalize(a_gold).split()
    pred_toks = _official_normalize(a_pred).split()
    common = Counter(gold_toks) & Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


def test_matches_the_official_script_on_real_squad_2_answers():
    # The full file, or its slice in tests/data/ (its 3 articles, cut down).
    path = require(SQUAD / "dev-v2.0-part-a.json")
    data = json.loads(path.read_text(encoding="utf-8"))["data"][:3]
    rng = np.random.default_rng(0)
    golds, preds = [], []
    for article in data:
        for paragraph in article["paragraphs"]:
            words = paragraph["context"].split()
            for qa in paragraph["qas"]:
                golds.append(qa["answers"])
                start = int(rng.integers(len(words)))
                # A random window: sometimes empty, sometimes a gold answer.
                choice = rng.integers(3)
                if choice == 0:
                    preds.append("")
                elif choice == 1 and qa["answers"]:
                    preds.append(qa["answers"][0]["text"] + " extra")
                else:
                    preds.append(" ".join(words[start : start + 4]))
    expected_f1, expected_em = [], []
    for answers, pred in zip(golds, preds, strict=True):
        texts = [a["text"] for a in answers if _official_normalize(a["text"])]
        texts = texts or [""]
        expected_f1.append(max(_official_f1(t, pred) for t in texts))
        expected_em.append(
            max(int(_official_normalize(t) == _official_normalize(pred)) for t in texts)
        )
    # Enough questions (the slice in tests/data/ holds 165, unanswerable ones too).
    assert len(golds) > (150 if bundled(path) else 500)
    assert any(not answers for answers in golds)
    assert squad_f1(golds, preds) == pytest.approx(np.mean(expected_f1))
    assert squad_exact_match(golds, preds) == pytest.approx(np.mean(expected_em))
    # The official report keeps the script's percentages.
    assert squad_evaluate(golds, preds)["f1"] == pytest.approx(
        100 * np.mean(expected_f1)
    )
