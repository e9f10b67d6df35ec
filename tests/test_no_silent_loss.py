"""Nothing is cut or dropped silently: long words, lost answers, clamped
strides and unstratified splits are handled or counted in a warning."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from albert_sk import AlbertClassifier, AlbertQA, AlbertTagger
from albert_sk.crf import OPEN_START
from albert_sk.exceptions import (
    AlbertSkWarning,
    DataLossWarning,
    LabelWarning,
    TruncationWarning,
    VocabularyWarning,
)
from albert_sk.text import train_sentencepiece

# A word SentencePiece cuts into far more pieces than a window holds.
LONG_WORD = "Zqxvbnmkjhgfdsapoiuytrewq" * 3


def _quiet_fit(estimator, *args, **kwargs):
    """Fit a tiny model; its convergence and vocabulary warnings are not tested."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", VocabularyWarning)
        return estimator.fit(*args, **kwargs)


def test_every_warning_shares_one_base():
    for kind in (TruncationWarning, DataLossWarning, LabelWarning, VocabularyWarning):
        assert issubclass(kind, AlbertSkWarning)
        assert issubclass(kind, UserWarning)


# === Tagger: a word longer than a window is split across windows ===


@pytest.fixture(scope="module")
def tagger():
    X = [["Ada", "lives", "in", "Paris"], ["Bob", "visits", "Rome"]] * 16
    y = [["B-PER", "O", "O", "B-LOC"], ["B-PER", "O", "B-LOC"]] * 16
    params = dict(backbone="tiny", vocab_size=100, max_length=12, epochs=1)
    return _quiet_fit(AlbertTagger(**params, random_state=0), X, y)


@pytest.mark.parametrize(
    "sentence",
    [
        [LONG_WORD],
        ["Ada", LONG_WORD, "in", LONG_WORD, "Paris"],
        ["Ada"] * 20 + [LONG_WORD],
    ],
)
def test_long_word_pieces_are_all_in_windows(tagger, sentence):
    tok = tagger.tokenizer_
    n_pieces = len(tok.encode([LONG_WORD])[0])
    assert n_pieces > 3 * (tagger.max_length - 2)  # several windows' worth
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        encoded = tagger._encode(tagger._check_X([sentence], reset=False))
    assert (encoded.lengths <= tagger.max_length).all()
    # Every piece of every word is in some window, in order.
    expected = tok.encode(sentence)
    word, first = encoded.token_fields["word"], encoded.token_fields["first"]
    for w, pieces in enumerate(expected):
        seen = encoded.token_ids[word == w].tolist()
        assert set(pieces) <= set(seen)
        assert len(seen) >= len(pieces)
    # Exactly one first piece per word occurrence in each window holding it.
    assert set(word[first]) == set(range(len(sentence)))
    for aggregation in ("first", "average", "max"):
        tagger.set_params(aggregation=aggregation)
        tags = tagger.predict([sentence])[0]
        proba = tagger.predict_proba([sentence])[0]
        assert len(tags) == len(sentence)
        assert proba.shape == (len(sentence), len(tagger.labels_))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    tagger.set_params(aggregation="first")


def test_single_word_parts_tile_its_pieces(tagger):
    tok = tagger.tokenizer_
    encoded = tagger._encode(tagger._check_X([[LONG_WORD]], reset=False))
    rows = [
        encoded.token_ids[s + 1 : s + n - 1].tolist()
        for s, n in zip(encoded.starts, encoded.lengths, strict=True)
    ]
    assert sum(rows, []) == tok.encode([LONG_WORD])[0]


def test_fit_on_long_words_trains_each_word_once(tagger):
    X = [["Ada", LONG_WORD, "in", "Paris"]] * 4
    y = [["B-PER", "B-LOC", "O", "B-LOC"]] * 4
    inputs = tagger._check_X(X, reset=False)
    targets, inputs = tagger._check_y(y, inputs)
    encoded, labels = tagger._encode_fit(inputs, targets)
    # One labelled piece per word, and the bare "▁" SentencePiece splits off
    # before some words (it learns the word's tag too), whatever the windows;
    # -1 learns nothing (a CRF marks a piece off its chain -2 - tag, and
    # a window's [CLS] and [SEP] where it was cut from the sentence).
    bare = encoded.token_fields["bare"].sum()
    learned = (labels.labels != -1) & (labels.labels > OPEN_START)
    assert learned.sum() == 16 + bare
    assert (labels.labels[encoded.token_fields["first"]] >= 0).sum() == 16


# === Question answering: answers no window can train on are counted ===


def _qa(contexts, questions, **params):
    qa = AlbertQA(backbone="tiny", **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VocabularyWarning)
        qa.tokenizer_ = train_sentencepiece(
            questions + contexts, vocab_size=100, seed=0
        )
    return qa


CONTEXT = (
    "The river runs north from the old mill past the stone bridge and the "
    "market square, then turns east through the forest to the lake where "
    "fishermen mend their nets every morning before sunrise."
)


def test_answers_that_map_to_no_token_are_counted():
    questions = ["Where does the river run?"] * 4
    contexts = [CONTEXT] * 4
    qa = _qa(contexts, questions, max_length=64, doc_stride=16, max_query_length=20)
    X = [
        {"question": q, "context": c} for q, c in zip(questions, contexts, strict=True)
    ]
    y = ["north", " ", {"text": " ", "answer_start": 9}, "lake"]
    inputs = qa._check_X(X, reset=False)
    spans, inputs = qa._check_y(y, inputs)
    message = (
        r"2 of 4 answers cannot be located in the model's windows and were "
        r"trained as 'no answer': 2 cover no token of their context \(rows "
        r"\[1, 2\]: .*\)\. Fix those answers"
    )
    with pytest.warns(DataLossWarning, match=message):
        _, targets = qa._encode_fit(inputs, spans)
    assert (targets.reshape(-1, 2) >= 0).all()


def test_answers_longer_than_a_window_are_counted():
    words = CONTEXT.split()
    questions = ["What does the river pass?", "Where does it turn?"]
    contexts = [CONTEXT, CONTEXT]
    qa = _qa(contexts, questions, max_length=40, doc_stride=4, max_query_length=20)
    long_answer = " ".join(words[2:25])
    X = [
        {"question": q, "context": c} for q, c in zip(questions, contexts, strict=True)
    ]
    inputs = qa._check_X(X, reset=False)
    spans, inputs = qa._check_y([long_answer, "east"], inputs)
    with pytest.warns(
        DataLossWarning,
        match=r"1 of 2 answers .* 1 fit in no window whole \(rows \[0\]: .*raise "
        r"max_length",
    ):
        _, targets = qa._encode_fit(inputs, spans)


def test_doc_stride_larger_than_the_window_is_counted():
    questions = ["Where does the river run?"] * 3
    contexts = [CONTEXT, "Short one.", CONTEXT]
    qa = _qa(contexts, questions, max_length=40, doc_stride=128, max_query_length=20)
    X = [
        {"question": q, "context": c} for q, c in zip(questions, contexts, strict=True)
    ]
    inputs = qa._check_X(X, reset=False)
    message = (
        r"doc_stride=128 is more than the context tokens a window holds \(as few "
        r"as \d+\) for 2 of 3 questions whose context needs several windows "
        r"\(rows \[0, 2\]\).*Lower doc_stride below \d+"
    )
    with pytest.warns(DataLossWarning, match=message):
        qa._encode_windows(inputs)
    qa.set_params(doc_stride=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        qa._encode_windows(inputs)


# === Validation split: a failed stratification is not silent ===


def test_unstratified_validation_split_warns_with_rows():
    X = ["good", "bad", "fine", "awful", "great", "poor", "odd"] * 2 + ["rare"]
    y = ["pos", "neg"] * 7 + ["other"]
    clf = AlbertClassifier(
        backbone="tiny",
        vocab_size=100,
        max_length=16,
        epochs=1,
        random_state=0,
        validation_split=0.3,
    )
    message = (
        r"validation_split=0.3 could not keep the class proportions of y .*"
        r"1 rows hold a class no other row has \(rows \[14\]\)\. The split is "
        r"random instead.*pass validation_data"
    )
    with pytest.warns(DataLossWarning, match=message):
        _quiet_fit(clf, X, y)
    assert "val_loss" in clf.history_
