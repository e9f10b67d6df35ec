"""Task metrics and their scikit-learn scorers (numpy only, no Keras).

* entity-level F1 in the strict IOB2 sense (``AlbertTagger``);
* SQuAD exact match and F1 (``AlbertQA``).
"""

import re
import string
from collections import Counter

import numpy as np
from sklearn.metrics import make_scorer

from albert_sk.exceptions import InputError

# === SQuAD exact match and F1 ===
#
# The normalisation and the per-answer scores follow the official evaluation
# scripts (v1.1 and v2.0): lower-case, drop punctuation, the articles a/an/the
# and extra whitespace; F1 over the bag of remaining tokens; the maximum over
# the gold answers. Scores are percentages, as the official scripts print them.

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


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
    """1 when ``prediction`` and ``gold`` are equal after :func:`normalize_answer`."""
    return int(normalize_answer(prediction) == normalize_answer(gold))


def answer_f1(prediction, gold):
    """Token-level F1 between one predicted and one gold answer (official SQuAD 2.0).

    Two empty answers (no answer) score 1; an empty answer against a non-empty
    one scores 0.

    Examples
    --------
    >>> from albert_sk.metrics import answer_f1
    >>> round(answer_f1("Denver Broncos", "the Broncos"), 3)
    0.667
    """
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
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
    """Exact match in percent, the maximum over each question's gold answers.

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
    100.0
    """
    scores, _ = _per_question(y_true, y_pred, answer_exact_match)
    return 100.0 * float(scores.mean()) if len(scores) else 0.0


def squad_f1(y_true, y_pred):
    """SQuAD F1 in percent: token F1 averaged over questions, max over gold answers.

    Takes the same ``y_true``/``y_pred`` as :func:`squad_exact_match`.

    Examples
    --------
    >>> from albert_sk.metrics import squad_f1
    >>> squad_f1(["Denver Broncos", "Carolina Panthers"], ["Broncos", "Panthers"])
    66.66666666666666
    """
    scores, _ = _per_question(y_true, y_pred, answer_f1)
    return 100.0 * float(scores.mean()) if len(scores) else 0.0


def squad_evaluate(y_true, y_pred):
    """Exact match and F1, overall and split into has-answer / no-answer questions.

    Returns the dict of the official SQuAD 2.0 script: ``exact``, ``f1`` and
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
