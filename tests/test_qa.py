"""AlbertQA, the SQuAD reader/writer and the span helpers, on real SQuAD data."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from _data import DATA, bundled, require
from _marks import API_FITS
from sklearn.base import clone

from albert_sk import AlbertQA
from albert_sk.align import (
    char_span_to_tokens,
    tokens_to_char_span,
    top_spans,
)
from albert_sk.checks import check_qa_answers, check_qa_inputs
from albert_sk.exceptions import InputError, NotFittedError, TruncationWarning
from albert_sk.io import read_squad, write_squad_predictions
from albert_sk.metrics import answer_f1, squad_f1
from albert_sk.text import train_sentencepiece

pytestmark = API_FITS

SQUAD = DATA / "squad"


def _squad(name):
    """The SQuAD dev file, or its slice in tests/data/ (see its SOURCES.md)."""
    return read_squad(require(SQUAD / name))


@pytest.fixture(scope="module")
def squad1():
    return _squad("dev-v1.1-part-a.json")


@pytest.fixture(scope="module")
def squad2():
    return _squad("dev-v2.0-part-a.json")


def _short(frame, n_contexts, per_context, skip=0, max_chars=500):
    """Questions on the first short paragraphs (fast fits)."""
    short = frame[frame.context.str.len() < max_chars]
    contexts = short.context.unique()[skip : skip + n_contexts]
    return short[short.context.isin(contexts)].groupby("context").head(per_context)


# === Reader and writer ===


def test_read_squad_v1(squad1):
    full = not bundled(require(SQUAD / "dev-v1.1-part-a.json"))
    assert len(squad1) == (7674 if full else 525)
    assert list(squad1.columns) == [
        "id",
        "title",
        "question",
        "context",
        "answers",
        "is_impossible",
    ]
    assert squad1.id.is_unique and not squad1.is_impossible.any()
    for context, answers in zip(squad1.context, squad1.answers, strict=True):
        assert answers
        for a in answers:
            start = a["answer_start"]
            assert context[start : start + len(a["text"])] == a["text"]


def test_read_squad_v2_marks_unanswerable_questions(squad2):
    full = not bundled(require(SQUAD / "dev-v2.0-part-a.json"))
    assert len(squad2) == (8276 if full else 165)
    impossible = squad2[squad2.is_impossible]
    assert 0 < len(impossible) < len(squad2)
    assert all(len(a) == 0 for a in impossible.answers)
    assert all(len(a) > 0 for a in squad2[~squad2.is_impossible].answers)


def test_read_squad_rejects_other_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"rows": []}))
    with pytest.raises(InputError, match="not in the official SQuAD format"):
        read_squad(path)
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{}]}]}))
    with pytest.raises(InputError, match="question 0 lacks 'context'"):
        read_squad(path)
    path.write_text("{not json")
    with pytest.raises(InputError, match="is not a JSON file"):
        read_squad(path)


def test_write_squad_predictions_round_trip(tmp_path):
    path = tmp_path / "predictions.json"
    write_squad_predictions(path, ["a", "b"], ["Denver Broncos", ""])
    assert json.loads(path.read_text()) == {"a": "Denver Broncos", "b": ""}
    assert [p.name for p in tmp_path.iterdir()] == ["predictions.json"]
    with pytest.raises(InputError, match="got 2 ids and 1 answers"):
        write_squad_predictions(path, ["a", "b"], ["x"])
    with pytest.raises(InputError, match="answer 1 is None"):
        write_squad_predictions(path, ["a", "b"], ["x", None])
    with pytest.raises(InputError, match="repeated question ids"):
        write_squad_predictions(path, ["a", "a"], ["x", "y"])


# === Input checks (pinned messages) ===

QA = "AlbertQA"


def test_missing_columns_and_keys_are_named():
    frame = pd.DataFrame({"question": ["q"], "passage": ["c"]})
    with pytest.raises(InputError, match=r"lacks \['context'\].*'passage'"):
        check_qa_inputs(frame, QA)
    rows = [{"question": "q", "context": "c"}, {"question": "q"}]
    with pytest.raises(InputError, match=r"row 1 lacks the keys \['context'\]"):
        check_qa_inputs(rows, QA)
    with pytest.raises(InputError, match="row 0 is a str"):
        check_qa_inputs(["just a question"], QA)
    with pytest.raises(InputError, match="got a dict. Wrap a single question"):
        check_qa_inputs({"question": "q", "context": "c"}, QA)
    with pytest.raises(InputError, match="needs at least one question"):
        check_qa_inputs([], QA)


def test_empty_and_non_string_fields_are_named():
    good = {"question": "Who?", "context": "Ann did."}
    with pytest.raises(InputError, match=r"empty context in row 1 \('  '\)"):
        check_qa_inputs([good, {"question": "Who?", "context": "  "}], QA)
    with pytest.raises(InputError, match="empty question in row 0"):
        check_qa_inputs([{"question": "", "context": "Ann did."}], QA)
    with pytest.raises(InputError, match="row 1 has a int question"):
        check_qa_inputs([good, {"question": 7, "context": "Ann did."}], QA)
    frame = pd.DataFrame({"question": ["Who?", "Who?"], "context": ["Ann.", None]})
    with pytest.raises(InputError, match="row 1 has a missing context"):
        check_qa_inputs(frame, QA)


def test_answers_are_located_and_checked():
    inputs = check_qa_inputs(
        [
            {"question": "q", "context": "Ann met Bob in Oslo."},
            {"question": "q", "context": "Ann met Bob in Oslo."},
            {"question": "q", "context": "Nothing here."},
            {"question": "q", "context": "Bob, Bob and Bob."},
        ],
        QA,
    )
    y = [
        "Bob",
        [{"text": "Oslo", "answer_start": 15}, "in Oslo"],
        None,
        {"text": "Bob", "answer_start": 5},
    ]
    assert check_qa_answers(y, inputs, QA) == [
        [(8, 11)],
        [(15, 19), (12, 19)],
        [],
        [(5, 8)],
    ]
    assert check_qa_answers(["", [], float("nan"), {"text": ""}], inputs, QA) == [
        [],
        [],
        [],
        [],
    ]


def test_bad_answers_are_named():
    inputs = check_qa_inputs(
        [
            {"question": "q", "context": "Ann met Bob in Oslo."},
            {"question": "q", "context": "Ann met Bob in Oslo."},
        ],
        QA,
    )
    with pytest.raises(InputError, match="row 1, 'Paris', does not occur"):
        check_qa_answers(["Bob", "Paris"], inputs, QA)
    with pytest.raises(
        InputError,
        match=r"row 1 says answer_start=4, but the context there reads 'met '",
    ):
        check_qa_answers(["Bob", {"text": "Oslo", "answer_start": 4}], inputs, QA)
    with pytest.raises(InputError, match="'answer_start' to be an int, but row 0"):
        check_qa_answers([{"text": "Bob", "answer_start": "8"}, ""], inputs, QA)
    with pytest.raises(InputError, match="row 0 has keys"):
        check_qa_answers([{"answer": "Bob"}, ""], inputs, QA)
    with pytest.raises(InputError, match="row 1 of y holds a int"):
        check_qa_answers(["Bob", 3], inputs, QA)
    with pytest.raises(InputError, match="X has 2 questions and y has 1 answers"):
        check_qa_answers(["Bob"], inputs, QA)
    with pytest.raises(InputError, match="got a single str"):
        check_qa_answers("Bob", inputs, QA)


# === Span helpers ===


def test_top_spans_matches_exhaustive_search():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(1, 15))
        start, end = rng.normal(size=n), rng.normal(size=n)
        smask, emask = rng.random(n) < 0.8, rng.random(n) < 0.8
        s, e, score = top_spans(start, end, smask, emask, n_best_size=n, max_length=4)
        expected = sorted(
            (start[a] + end[b], a, b)
            for a in range(n)
            for b in range(a, min(a + 4, n))
            if smask[a] and emask[b]
        )[::-1]
        assert [(a, b) for _, a, b in expected] == list(zip(s, e, strict=True))
        assert np.allclose([v for v, _, _ in expected], score)
        few = top_spans(start, end, smask, emask, n_best_size=2, max_length=4)
        assert set(zip(*few[:2], strict=True)) <= set(zip(s, e, strict=True))


def test_gold_answers_round_trip_through_tokens(squad1):
    frame = squad1[squad1.title == squad1.title.unique()[1]]
    tok = train_sentencepiece(
        list(dict.fromkeys(frame.context)), vocab_size=800, seed=0
    )
    exact = total = 0
    for context, answers in zip(frame.context, frame.answers, strict=True):
        _, starts, ends = tok.encode_with_offsets([context])[0]
        for a in answers:
            s = a["answer_start"]
            e = s + len(a["text"])
            first, last = char_span_to_tokens(starts, ends, s, e)
            cs, ce = tokens_to_char_span(starts, ends, first, last)
            # The token span covers the answer and only adds letters of the
            # words the answer cuts (SentencePiece pieces sit inside words).
            assert cs <= s and ce >= e
            assert " " not in context[cs:s] and " " not in context[e:ce]
            exact += (cs, ce) == (s, e)
            total += 1
    assert exact / total > 0.9


# === Windows and training targets (no model) ===


def _with_tokenizer(frame, vocab_size=120, **params):
    qa = AlbertQA(backbone="tiny", **params)
    texts = list(frame.question) + list(dict.fromkeys(frame.context))
    qa.tokenizer_ = train_sentencepiece(texts, vocab_size=vocab_size, seed=0)
    return qa


def test_windows_rows_and_targets(squad1):
    frame = squad1[squad1.title == squad1.title.unique()[3]].head(40)
    qa = _with_tokenizer(frame, max_length=128, doc_stride=16, max_query_length=100)
    inputs = qa._check_X(frame, reset=False)
    spans, inputs = qa._check_y(frame.answers, inputs)
    encoded, targets = qa._encode_fit(inputs, spans)
    _, windows = qa._encode_windows(inputs)
    tok = qa.tokenizer_
    assert (encoded.lengths <= 128).all()
    assert (np.bincount(windows.example) >= 1).all()
    assert (np.bincount(windows.example) > 1).any()  # long contexts: several
    n_answer_windows = np.zeros(len(inputs), dtype=int)
    for w, i in enumerate(windows.example):
        row = encoded.row(w)
        seg = encoded.segment_ids[encoded.starts[w] : encoded.starts[w] + len(row)]
        q = tok.encode([inputs.questions[i]])[0]
        ctx = tok.encode([inputs.contexts[i]])[0]
        off, first, n = windows.offset[w], windows.first[w], windows.length[w]
        assert list(row) == [
            tok.cls_id,
            *q,
            tok.sep_id,
            *ctx[first : first + n],
            tok.sep_id,
        ]
        assert list(seg) == [0] * off + [1] * (n + 1)
        a, b = targets[w]
        if a == 0:
            assert b == 0
            continue
        n_answer_windows[i] += 1
        assert off <= a <= b < off + n
        first_tok, last_tok = first + a - off, first + b - off
        cs, ce = tokens_to_char_span(
            windows.starts[i], windows.ends[i], first_tok, last_tok
        )
        s, e = spans[i][0]
        assert cs <= s and ce >= e  # the labelled tokens cover the answer
    # Every answer is labelled in at least one window; windows without it: [CLS].
    assert (n_answer_windows >= 1).all()
    assert (targets == 0).all(axis=1).sum() > 0


def test_long_questions_are_truncated_with_a_counted_warning(squad1):
    frame = squad1.head(30)
    qa = _with_tokenizer(frame, max_length=64, doc_stride=32, max_query_length=6)
    inputs = qa._check_X(frame, reset=False)
    lengths = [len(q) for q in qa.tokenizer_.encode(inputs.questions)]
    n_long = sum(n > 6 for n in lengths)
    message = f"{n_long} of 30 questions were longer than max_query_length=6"
    with pytest.warns(TruncationWarning, match=message):
        encoded, windows = qa._encode_windows(inputs)
    assert (windows.offset <= 6 + 2).all()


def test_oracle_logits_decode_to_the_gold_spans(squad1, monkeypatch):
    """Windows + decoding, model left out: logits that point at the labelled
    tokens must come back as the gold answers, at exact character offsets,
    also for non-ASCII answers (en dashes, accents) split over windows."""
    non_ascii = squad1.answers.map(lambda a: not a[0]["text"].isascii())
    frame = squad1[non_ascii].head(60)
    qa = _with_tokenizer(
        frame,
        vocab_size=500,
        max_length=96,
        doc_stride=16,
        max_query_length=56,
        max_answer_length=40,  # one gold answer has 32 pieces
    )
    qa.model_ = None  # fitted enough for predict_spans; the model is replaced
    inputs = qa._check_X(frame, reset=False)
    spans, inputs = qa._check_y(frame.answers, inputs)
    encoded, targets = qa._encode_fit(inputs, spans)
    assert len(encoded) > 2 * len(frame)  # several windows per context

    def oracle(rows, model=None):
        logits = []
        for w in range(len(rows)):
            row = np.zeros((rows.lengths[w], 2), dtype=np.float32)
            row[targets[w, 0], 0] = row[targets[w, 1], 1] = 10.0
            logits.append(row)
        return logits

    monkeypatch.setattr(qa, "_run_model", oracle)
    predicted = qa.predict_spans(frame)
    _, windows = qa._encode_windows(inputs)
    exact = 0
    for i, (context, records) in enumerate(
        zip(inputs.contexts, predicted, strict=True)
    ):
        best = records[0]
        assert context[best["start"] : best["end"]] == best["answer"]
        s, e = spans[i][0]
        tokens = char_span_to_tokens(windows.starts[i], windows.ends[i], s, e)
        covering = tokens_to_char_span(windows.starts[i], windows.ends[i], *tokens)
        exact += (best["start"], best["end"]) == covering
        assert best["score"] > 10.0  # one window held the whole answer
    assert exact == len(frame)
    answers = [a[0]["text"] for a in frame.answers]
    assert sum(p == a for p, a in zip(qa.predict(frame), answers, strict=True)) > 50


# === Fitted models on real data ===


@pytest.fixture(scope="module")
def fitted(squad1):
    """A tiny model fitted on 60 questions of short SQuAD 1.1 paragraphs."""
    train = _short(squad1, 20, 3)
    qa = AlbertQA(
        backbone="tiny",
        vocab_size=500,
        max_length=128,
        doc_stride=64,
        max_query_length=80,
        epochs=10,
        batch_size=16,
        learning_rate=3e-3,
        random_state=0,
    )
    return qa.fit(train, train.answers), train


def test_training_lowers_the_loss_and_fits_the_training_questions(fitted):
    qa, train = fitted
    loss = qa.history_["loss"]
    assert len(loss) == 10 and loss[-1] < 0.5 * loss[0]
    f1 = qa.score(train, train.answers)
    # Trivial baseline: the context's first three words.
    first_words = [" ".join(c.split()[:3]) for c in train.context]
    baseline = squad_f1(list(train.answers), first_words)
    assert f1 > 0.30 and f1 > baseline + 0.20


def test_spans_are_exact_character_offsets(fitted, squad1):
    qa, _ = fitted
    test = _short(squad1, 6, 2, skip=40, max_chars=2000)
    spans = qa.predict_spans(test, n_best=3)
    assert len(spans) == len(test)
    for context, records in zip(test.context, spans, strict=True):
        assert 1 <= len(records) <= 3
        scores = [r["score"] for r in records]
        assert scores == sorted(scores, reverse=True)
        assert len({(r["start"], r["end"]) for r in records}) == len(records)
        for r in records:
            assert 0 <= r["start"] < r["end"] <= len(context)
            assert context[r["start"] : r["end"]] == r["answer"]
            assert r["answer"] == r["answer"].strip()
    predictions = qa.predict(test)
    assert list(predictions) == [records[0]["answer"] for records in spans]
    frame = qa.predict_spans(test, n_best=2, as_frame=True)
    assert list(frame.columns) == ["row", "rank", "answer", "start", "end", "score"]
    assert (frame[frame["rank"] == 0].answer.to_numpy() == predictions).all()
    score = qa.score(test, test.answers)
    assert 0 <= score <= 1  # the scale of every scikit-learn score
    assert score == pytest.approx(squad_f1(list(test.answers), predictions))


def test_answers_respect_max_answer_length(fitted, squad1):
    qa, _ = fitted
    test = _short(squad1, 4, 2, skip=60)
    model = clone(qa).set_params(max_answer_length=2)
    model.__dict__.update(
        {k: v for k, v in vars(qa).items() if k.endswith("_") and not k.endswith("__")}
    )
    inputs = qa._check_X(test, reset=False)
    _, windows = qa._encode_windows(inputs)
    spans = model.predict_spans(test, n_best=20)
    longest = 0
    for i, records in enumerate(spans):
        starts, ends = windows.starts[i], windows.ends[i]
        for r in records:
            inside = (starts < r["end"]) & (ends > r["start"]) & (ends > starts)
            longest = max(longest, int(inside.sum()))
    assert longest == 2  # some spans use the limit, none go past it


def test_long_contexts_are_read_in_windows(fitted, squad1):
    qa, _ = fitted
    frame = squad1[squad1.title == squad1.title.unique()[2]]
    long_context = " ".join(frame.context.unique()[:4])
    X = [{"question": frame.question.iloc[0], "context": long_context}]
    encoded, windows = qa._encode_windows(qa._check_X(X, reset=False))
    assert len(encoded) > 3
    records = qa.predict_spans(X, n_best=200)[0]
    # Candidates come from every window, up to the end of the context.
    assert max(r["end"] for r in records) > 0.75 * len(long_context)
    for r in records:
        assert long_context[r["start"] : r["end"]] == r["answer"]
    # Predict cost follows the context length: windows grow linearly.
    short_X = [{"question": X[0]["question"], "context": frame.context.iloc[0]}]
    short_windows = len(qa._encode_windows(qa._check_X(short_X, reset=False))[0])
    assert short_windows < len(encoded)


def test_save_load_and_pickle_round_trip(fitted, squad1, tmp_path):
    qa, _ = fitted
    test = _short(squad1, 3, 2, skip=30)
    expected = qa.predict_spans(test, n_best=2)
    loaded = AlbertQA.load(qa.save(tmp_path / "qa.albert"))
    assert loaded.get_params() == {
        **qa.get_params(),
        "callbacks": None,
        "validation_data": None,
    }
    assert loaded.null_score_threshold_ == qa.null_score_threshold_
    for got in (loaded, pickle.loads(pickle.dumps(qa))):
        result = got.predict_spans(test, n_best=2)
        assert [[r["answer"] for r in rs] for rs in result] == [
            [r["answer"] for r in rs] for rs in expected
        ]
        assert np.allclose(
            [r["score"] for rs in result for r in rs],
            [r["score"] for rs in expected for r in rs],
            atol=1e-4,
        )


def test_sklearn_contract(fitted):
    qa, train = fitted
    fresh = clone(qa)
    assert not hasattr(fresh, "model_")
    assert fresh.get_params() == qa.get_params()
    with pytest.raises(NotFittedError):
        fresh.predict(train.head(2))
    with pytest.raises(InputError, match=r"n_best must be an int >= 1, but got 0"):
        qa.predict_spans(train.head(2), n_best=0)
    with pytest.raises(InputError, match=r"lacks \['context'\]"):
        qa.predict(train[["question"]])


def test_max_query_length_must_leave_room_for_the_context(squad1):
    train = _short(squad1, 2, 2)
    qa = AlbertQA(backbone="tiny", max_length=32, max_query_length=30)
    with pytest.raises(InputError, match="must be at most max_length - 4 = 28"):
        qa.fit(train, train.answers)


def test_auto_threshold_needs_validation_questions(squad2):
    train = _short(squad2, 2, 2)
    qa = AlbertQA(backbone="tiny", allow_no_answer=True, null_score_threshold="auto")
    with pytest.raises(InputError, match="neither validation_data nor"):
        qa.fit(train, train.answers)


def test_squad2_no_answer_threshold_maximises_validation_f1(squad2):
    train = _short(squad2, 12, 6)
    val = _short(squad2, 6, 6, skip=12)
    assert train.is_impossible.any() and val.is_impossible.any()
    qa = AlbertQA(
        backbone="tiny",
        vocab_size=350,
        max_length=128,
        doc_stride=32,  # below the context part of every window (no warning)
        max_query_length=80,
        epochs=4,
        batch_size=16,
        learning_rate=3e-3,
        allow_no_answer=True,
        null_score_threshold="auto",
        validation_data=(val, val.answers),
        random_state=0,
    )
    weights = np.where(train.is_impossible, 0.5, 1.0)
    qa.fit(train, train.answers, sample_weight=weights)
    assert (
        "val_loss" in qa.history_ and qa.history_["loss"][-1] < qa.history_["loss"][0]
    )
    threshold = qa.null_score_threshold_
    assert isinstance(threshold, float) and np.isfinite(threshold)
    chosen = qa.score(val, val.answers)
    for other in (-1e9, 1e9, threshold - 1.0, threshold + 1.0):
        qa.null_score_threshold_ = other
        assert qa.score(val, val.answers) <= chosen + 1e-9
    qa.null_score_threshold_ = 1e9  # never answer: F1 = share of no-answer
    assert qa.score(val, val.answers) == pytest.approx(val.is_impossible.mean())
    assert set(qa.predict(val)) == {""}
    qa.null_score_threshold_ = threshold
    spans = qa.predict_spans(val, n_best=3)
    for context, records in zip(val.context, spans, strict=True):
        nulls = [r for r in records if r["answer"] == ""]
        assert len(nulls) <= 1
        for r in records:
            assert context[r["start"] : r["end"]] == r["answer"]


@API_FITS  # one epoch: the test is about which questions pick the threshold
def test_auto_threshold_is_picked_on_the_questions_validation_split_held_out(squad2):
    from albert_sk.batching import split_rows

    train = _short(squad2, 8, 4).reset_index(drop=True)
    qa = AlbertQA(
        backbone="tiny",
        vocab_size=300,
        max_length=128,
        doc_stride=32,
        max_query_length=80,
        epochs=1,
        batch_size=16,
        allow_no_answer=True,
        null_score_threshold="auto",
        validation_split=0.5,
        random_state=0,
    ).fit(train, train.answers)
    # The fit's seed (random_state) draws the questions, as split_rows does.
    held_out = np.sort(split_rows(len(train), 0.5, 0)[1])
    part = train.iloc[held_out]
    inputs = qa._check_X(part, reset=False)
    spans, inputs = qa._check_y(part.answers, inputs)
    expected = qa._best_threshold(inputs, spans)
    assert qa.null_score_threshold_ == pytest.approx(expected)
    # Nothing of the fit but fitted attributes stays on the estimator.
    params = qa.get_params()
    assert [k for k in vars(qa) if k not in params and not k.endswith("_")] == []


def test_validation_split_keeps_each_question_whole(squad1):
    train = _short(squad1, 8, 3, max_chars=2000)
    qa = _with_tokenizer(
        train,
        max_length=128,
        doc_stride=24,
        max_query_length=100,
        validation_split=0.25,
    )
    inputs = qa._check_X(train, reset=False)
    spans, inputs = qa._check_y(train.answers, inputs)
    encoded, targets = qa._encode_fit(inputs, spans)
    (tr, tr_y, _), (va, va_y, _) = qa._split(encoded, targets, None, 0)
    held_out = np.unique(va.source_rows)
    assert len(tr) + len(va) == len(encoded)
    assert 0 < len(held_out) < len(inputs)
    assert not np.isin(tr.source_rows, held_out).any()  # no question in both
    n_val_windows = np.isin(encoded.source_rows, held_out).sum()
    assert len(va) == n_val_windows
    # The seed of the fit draws the questions, as it draws the base's rows.
    (_, _, _), (again, _, _) = qa._split(encoded, targets, None, 0)
    np.testing.assert_array_equal(again.source_rows, va.source_rows)
    assert not hasattr(qa, "_validation_examples")  # nothing stored per fit


def test_answer_f1_of_predictions_is_consistent(fitted, squad1):
    qa, _ = fitted
    test = _short(squad1, 3, 3, skip=50)
    predictions = qa.predict(test)
    per_question = [
        max(answer_f1(p, a["text"]) for a in answers)
        for p, answers in zip(predictions, test.answers, strict=True)
    ]
    assert qa.score(test, test.answers) == pytest.approx(np.mean(per_question))
