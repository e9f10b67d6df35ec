"""Task metrics and their scikit-learn scorers (numpy only, no Keras).

* entity-level F1 in the strict IOB2 sense (``AlbertTagger``);
* SQuAD exact match and F1 (``AlbertQA``).
"""

import re
import string
import unicodedata
from collections import Counter

import numpy as np
import pandas as pd
from sklearn.metrics import make_scorer

from albert_sk.align import CJK_PATTERN, check_tags, get_entities, to_iob2
from albert_sk.exceptions import InputError

# === SQuAD exact match and F1 ===
#
# The normalisation and the per-answer scores follow the official evaluation
# scripts (v1.1 and v2.0): lower-case, drop punctuation, the articles a/an/the
# and extra whitespace; F1 over the bag of remaining tokens; the maximum over
# the gold answers. Scores are percentages, as the official scripts print them.
# Chinese and Japanese answers have no spaces: every CJK ideograph is a token
# of its own (as in CMRC 2018's official script and BERT's basic tokenizer),
# and CJK and full-width punctuation ("，", "。", "《") is dropped as ASCII
# punctuation is. Text without ideographs scores as the SQuAD scripts do.

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation) | frozenset(
    ch
    for ch in map(chr, [*range(0x3000, 0x3040), *range(0xFF00, 0xFFF0)])
    if unicodedata.category(ch).startswith("P")
)


def normalize_answer(text):
    """Lower-case, remove punctuation, articles and extra whitespace (official SQuAD).

    Examples
    --------
    >>> from albert_sk.metrics import normalize_answer
    >>> normalize_answer("The  Denver Broncos!")
    'denver broncos'
    """
    text = "".join(ch for ch in str(text).lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_exact_match(prediction, gold):
    """1 when ``prediction`` and ``gold`` are equal after :func:`normalize_answer`.

    Examples
    --------
    >>> from albert_sk.metrics import answer_exact_match
    >>> answer_exact_match("the Denver Broncos.", "Denver Broncos")
    1
    >>> answer_exact_match("Broncos", "Denver Broncos")  # no partial credit
    0
    """
    return int(normalize_answer(prediction) == normalize_answer(gold))


def answer_tokens(text):
    """The tokens :func:`answer_f1` counts: words, and each CJK ideograph alone.

    Examples
    --------
    >>> from albert_sk.metrics import answer_tokens
    >>> answer_tokens("The 2018年 World Cup，北京")
    ['2018', '年', 'world', 'cup', '北', '京']
    """
    return CJK_PATTERN.sub(r" \g<0> ", normalize_answer(text)).split()


def answer_f1(prediction, gold):
    """Token-level F1 between one predicted and one gold answer (official SQuAD 2.0).

    Two empty answers (no answer) score 1; an empty answer against a non-empty
    one scores 0. CJK ideographs count one by one (:func:`answer_tokens`).

    Examples
    --------
    >>> from albert_sk.metrics import answer_f1
    >>> round(answer_f1("Denver Broncos", "the Broncos"), 3)
    0.667
    >>> round(answer_f1("北京大学", "北京"), 3)
    0.667
    """
    pred_tokens = answer_tokens(prediction)
    gold_tokens = answer_tokens(gold)
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def gold_answer_texts(answers):
    """The gold answer texts of one question, as the official v2.0 script reads them.

    ``answers`` is a string, a dict with a ``"text"`` key, a list of such, or
    ``""``/``None``/``[]`` for no answer. Answers that normalise to nothing
    are dropped; a question left without answers has the single gold ``""``.

    Examples
    --------
    >>> from albert_sk.metrics import gold_answer_texts
    >>> gold_answer_texts([{"text": "France", "answer_start": 12}, {"text": "the"}])
    ['France']
    >>> gold_answer_texts("Paris"), gold_answer_texts([]), gold_answer_texts(None)
    (['Paris'], [''], [''])
    """
    if not isinstance(answers, (list, tuple, np.ndarray)):
        answers = [answers]
    texts = []
    for answer in answers:
        text = answer.get("text") if isinstance(answer, dict) else answer
        if text is not None and not (isinstance(text, float) and text != text):
            texts.append(str(text))
    texts = [t for t in texts if normalize_answer(t)]
    return texts or [""]


def _per_question(y_true, y_pred, metric):
    y_true, y_pred = list(y_true), [str(p) for p in y_pred]
    if len(y_true) != len(y_pred):
        raise InputError(
            f"y_true and y_pred must have one entry per question, but y_true has "
            f"{len(y_true)} and y_pred has {len(y_pred)}."
        )
    golds = [gold_answer_texts(a) for a in y_true]
    scores = [
        max(metric(p, g) for g in gs) for p, gs in zip(y_pred, golds, strict=True)
    ]
    return np.asarray(scores, dtype=float), np.asarray([gs != [""] for gs in golds])


def squad_exact_match(y_true, y_pred):
    """Exact match (0 to 1), the maximum over each question's gold answers.

    On the 0-1 scale of every scikit-learn score; the official SQuAD script's
    percentages are :func:`squad_evaluate`'s.

    Parameters
    ----------
    y_true : sequence
        One entry per question: an answer string, a ``{"text", ...}`` dict, a
        list of them (several acceptable answers), or ``""``/``None``/``[]``
        when the question has no answer (SQuAD 2.0).
    y_pred : sequence of str
        Predicted answers, ``""`` for no answer.

    Examples
    --------
    >>> from albert_sk.metrics import squad_exact_match
    >>> squad_exact_match([["Denver Broncos", "Broncos"], ""], ["broncos", ""])
    1.0
    """
    scores, _ = _per_question(y_true, y_pred, answer_exact_match)
    return float(scores.mean()) if len(scores) else 0.0


def squad_f1(y_true, y_pred):
    """SQuAD F1 (0 to 1): token F1 averaged over questions, max over gold answers.

    Takes the same ``y_true``/``y_pred`` as :func:`squad_exact_match`; the
    official script's percentage is ``squad_evaluate(...)["f1"]``.

    Examples
    --------
    >>> from albert_sk.metrics import squad_f1
    >>> squad_f1(["Denver Broncos", "Carolina Panthers"], ["Broncos", "Panthers"])
    0.6666666666666666
    """
    scores, _ = _per_question(y_true, y_pred, answer_f1)
    return float(scores.mean()) if len(scores) else 0.0


def squad_evaluate(y_true, y_pred):
    """Exact match and F1, overall and split into has-answer / no-answer questions.

    The report of the official SQuAD 2.0 script, in its percentages (0 to 100;
    :func:`squad_f1` and ``AlbertQA.score`` give the same F1 on 0 to 1). Returns
    its dict: ``exact``, ``f1`` and
    ``total``, plus ``HasAns_*`` and ``NoAns_*`` for the questions that have
    (or lack) a gold answer, where there are any.

    Examples
    --------
    >>> from albert_sk.metrics import squad_evaluate
    >>> result = squad_evaluate(["Denver Broncos", ""], ["Denver", ""])
    >>> result["f1"], result["HasAns_f1"], result["NoAns_exact"]
    (83.33333333333333, 66.66666666666666, 100.0)
    """
    exact, has_answer = _per_question(y_true, y_pred, answer_exact_match)
    f1, _ = _per_question(y_true, y_pred, answer_f1)
    result = {
        "exact": 100.0 * float(exact.mean()) if len(exact) else 0.0,
        "f1": 100.0 * float(f1.mean()) if len(f1) else 0.0,
        "total": len(exact),
    }
    for prefix, part in (("HasAns", has_answer), ("NoAns", ~has_answer)):
        if part.any():
            result[f"{prefix}_exact"] = 100.0 * float(exact[part].mean())
            result[f"{prefix}_f1"] = 100.0 * float(f1[part].mean())
            result[f"{prefix}_total"] = int(part.sum())
    return result


# ``GridSearchCV(AlbertQA(...), grid, scoring=squad_f1_scorer)``.
squad_f1_scorer = make_scorer(squad_f1)
squad_exact_match_scorer = make_scorer(squad_exact_match)


# === Entity-level F1 (strict IOB2, as seqeval's mode="strict") ===
#
# An entity is a B-X followed by any number of I-X; a stray I-X belongs to no
# entity. A predicted entity counts only when its type, first and last word
# all match a gold entity. Tags in IOB1, BIOES or BMES are converted to IOB2 first.


def _entity_sets(y_true, y_pred, scheme):
    y_true, y_pred = list(y_true), list(y_pred)
    if len(y_true) != len(y_pred):
        raise InputError(
            f"y_true and y_pred must have one tag list per sentence, but y_true "
            f"has {len(y_true)} and y_pred has {len(y_pred)}."
        )
    true, pred = set(), set()
    for i, (gold, guess) in enumerate(zip(y_true, y_pred, strict=True)):
        gold, guess = list(gold), list(guess)
        if len(gold) != len(guess):
            raise InputError(
                f"Sentence {i} has {len(gold)} gold tags but {len(guess)} "
                "predicted tags. Pass one tag per word in both."
            )
        for tags, out in ((gold, true), (guess, pred)):
            check_tags(tags, scheme, i)
            out.update((i, *e) for e in get_entities(to_iob2(tags, scheme)))
    return true, pred


def _prf(tp, n_pred, n_true):
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return precision, recall, f1


def entity_report(y_true, y_pred, *, scheme="IOB2"):
    """Per-type entity precision, recall, F1 and support as a DataFrame.

    Rows are the entity types (sorted), then ``micro avg``, ``macro avg`` and
    ``weighted avg`` (by support), as ``seqeval``'s classification report.

    Parameters
    ----------
    y_true, y_pred : list of list of str
        Gold and predicted tags, one list per sentence.
    scheme : {"IOB2", "IOB1", "BIOES", "BMES"}, default="IOB2"

    Examples
    --------
    >>> from albert_sk.metrics import entity_report
    >>> gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    >>> pred = [["B-PER", "I-PER", "O", "O"]]
    >>> entity_report(gold, pred)["f1-score"].round(3).to_dict()
    {'LOC': 0.0, 'PER': 1.0, 'micro avg': 0.667, 'macro avg': 0.5, 'weighted avg': 0.5}
    """
    true, pred = _entity_sets(y_true, y_pred, scheme)
    hits = true & pred
    types = sorted({e[1] for e in true | pred})
    rows = {}
    for kind in types:
        n_true = sum(e[1] == kind for e in true)
        n_pred = sum(e[1] == kind for e in pred)
        tp = sum(e[1] == kind for e in hits)
        rows[kind] = (*_prf(tp, n_pred, n_true), n_true)
    columns = ["precision", "recall", "f1-score", "support"]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    per_type = frame.copy()
    support = per_type["support"].to_numpy(dtype=float)
    rows = {"micro avg": (*_prf(len(hits), len(pred), len(true)), len(true))}
    if len(per_type):
        scores = per_type[columns[:3]].to_numpy(dtype=float)
        weighted = scores.T @ support / support.sum() if support.sum() else [0.0] * 3
        rows["macro avg"] = (*scores.mean(axis=0), len(true))
        rows["weighted avg"] = (*weighted, len(true))
    else:
        rows["macro avg"] = rows["weighted avg"] = (0.0, 0.0, 0.0, 0)
    totals = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame = pd.concat([frame, totals]) if len(frame) else totals
    frame["support"] = frame["support"].astype(int)
    return frame


def entity_f1_score(y_true, y_pred, *, average="micro", scheme="IOB2"):
    """Entity-level F1 in the strict IOB2 sense (``seqeval`` ``mode="strict"``).

    Parameters
    ----------
    y_true, y_pred : list of list of str
        Gold and predicted tags, one list per sentence, of equal lengths.
    average : {"micro", "macro"}, default="micro"
        ``"micro"`` pools all entities; ``"macro"`` averages the per-type F1
        over the types found in either list.
    scheme : {"IOB2", "IOB1", "BIOES", "BMES"}, default="IOB2"
        Scheme of both tag lists; converted to IOB2 before matching.

    Returns
    -------
    float
        0.0 when there is nothing to match (no gold and no predicted entity).

    Examples
    --------
    >>> from albert_sk.metrics import entity_f1_score
    >>> gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG"]]
    >>> pred = [["B-PER", "I-PER", "O", "O"], ["O", "B-LOC"]]
    >>> round(entity_f1_score(gold, pred), 3)
    0.4
    """
    if average not in ("micro", "macro"):
        raise InputError(f"average must be 'micro' or 'macro', got {average!r}.")
    if average == "micro":
        true, pred = _entity_sets(y_true, y_pred, scheme)
        return float(_prf(len(true & pred), len(pred), len(true))[2])
    report = entity_report(y_true, y_pred, scheme=scheme)
    return float(report.loc["macro avg", "f1-score"])


# ``GridSearchCV(AlbertTagger(...), grid, scoring=entity_f1_scorer)``.
entity_f1_scorer = make_scorer(entity_f1_score)
