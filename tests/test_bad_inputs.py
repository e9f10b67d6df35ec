"""The bad-input catalogue: one table of bad inputs across every estimator and
the command line, each with the message it gets.

Every message says what was expected, what was received (with the row when
the problem is in one row) and the fix; ``match=`` pins the parts. Most
checks run before any model is built; the cases that need a fitted model
share one tiny model per estimator (``Models``), fitted on first use.
"""

import functools
import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from albert_sk import (
    AlbertClassifier,
    AlbertPretrainer,
    AlbertQA,
    AlbertRegressor,
    AlbertTagger,
    AlbertVectorizer,
)
from albert_sk.cli import main
from albert_sk.exceptions import (
    InputError,
    NotFittedError,
    TruncationWarning,
    VocabularyWarning,
)
from albert_sk.io import read_conll, read_squad

TINY = dict(backbone="tiny", vocab_size=100, max_length=32, epochs=1, random_state=0)
VEC = dict(backbone="tiny", vocab_size=100, max_length=32, random_state=0)
TEXTS = ["a good film", "a bad film", "great acting", "awful plot"] * 4
LABELS = ["pos", "neg", "pos", "neg"] * 4
SENTENCES = [["Ada", "lives", "in", "Paris"], ["Bob", "visits", "Rome"]] * 8
TAGS = [["B-PER", "O", "O", "B-LOC"], ["B-PER", "O", "B-LOC"]] * 8
CONTEXT = "Ada was born in Paris in 1815 and wrote the first program."
QUESTIONS = [{"question": "Where was Ada born?", "context": CONTEXT}] * 8


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", VocabularyWarning)
        return fit()


class Models:
    """One tiny fitted model per estimator, and data files, built on first use."""

    def __init__(self, folder):
        self.folder = folder

    @functools.cached_property
    def classifier(self):
        frame = pd.DataFrame({"text": TEXTS})
        return _quiet(lambda: AlbertClassifier(**TINY).fit(frame, LABELS))

    @functools.cached_property
    def regressor(self):
        y = np.linspace(0.0, 1.0, len(TEXTS))
        return _quiet(lambda: AlbertRegressor(**TINY).fit(TEXTS, y))

    @functools.cached_property
    def tagger(self):
        return _quiet(lambda: AlbertTagger(**TINY).fit(SENTENCES, TAGS))

    @functools.cached_property
    def qa(self):
        qa = AlbertQA(**TINY, max_query_length=12, doc_stride=8)
        return _quiet(lambda: qa.fit(QUESTIONS, ["Paris"] * len(QUESTIONS)))

    @functools.cached_property
    def vectorizer(self):
        return _quiet(lambda: AlbertVectorizer(**VEC).fit(TEXTS))

    @functools.cached_property
    def classifier_file(self):
        return str(self.classifier.save(self.folder / "clf.albert"))

    def file(self, name, content):
        """Write ``content`` (str, or bytes written as they are) to ``name``."""
        path = self.folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return str(path)

    def table(self, name="train.csv", **columns):
        frame = pd.DataFrame(columns or {"text": TEXTS, "label": LABELS})
        return self.file(name, frame.to_csv(index=False))


def warm(model):
    """A copy of a fitted model that continues training (``warm_start``)."""
    return pickle.loads(pickle.dumps(model)).set_params(warm_start=True)


class CliError(Exception):
    """``albert-sk`` exited with code 2; the message is its stderr line."""


def cli(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    if code == 2:
        raise CliError(err.strip())
    raise AssertionError(f"albert-sk {argv} exited with {code}: {err}")


def case(id, call, error, match):
    return pytest.param(call, error, match, id=id)


C, R, T, Q, V, P = (
    lambda **p: AlbertClassifier(**{**TINY, **p}),
    lambda **p: AlbertRegressor(**{**TINY, **p}),
    lambda **p: AlbertTagger(**{**TINY, **p}),
    lambda **p: AlbertQA(**{**TINY, "max_query_length": 12, **p}),
    lambda **p: AlbertVectorizer(**{**VEC, **p}),
    lambda **p: AlbertPretrainer(
        backbone="tiny", vocab_size=100, max_length=32, max_steps=1, **p
    ),
)
QA_ROW = {"question": "Who?", "context": CONTEXT}
INVALID_UTF8 = b"text,label\ngood film,pos\nbad \xff\xfe film,neg\n"

CASES = [
    # --- AlbertClassifier: X ---
    case(
        "classifier-X-single-string",
        lambda m, c: C().fit("a good film", ["pos"]),
        InputError,
        r"expects a list of texts, but got a single str\. Wrap it in a list",
    ),
    case(
        "classifier-X-None-in-row",
        lambda m, c: C().fit(["good", "bad", None], LABELS[:3]),
        InputError,
        r"expects a text in every row, but row 2 is missing \(None\)\. Drop or fill",
    ),
    case(
        "classifier-X-NaN-in-Series",
        lambda m, c: C().fit(pd.Series(["good", math.nan, "bad"]), LABELS[:3]),
        InputError,
        r"row 1 is missing \(nan\)\. Drop or fill missing texts first",
    ),
    case(
        "classifier-X-number-in-row",
        lambda m, c: C().fit(["good", 42, "bad"], LABELS[:3]),
        InputError,
        r"expects texts \(str\), but row 1 is int \(42\)\. Convert the column",
    ),
    case(
        "classifier-X-3d-array",
        lambda m, c: C().fit(np.array([[["a", "b"]]] * 2), ["pos", "neg"]),
        InputError,
        r"expects a 1-D array of texts .* but got an array of shape \(2, 1, 2\)\. "
        r"Pass one text per row",
    ),
    case(
        "classifier-X-dict",
        lambda m, c: C().fit({"text": TEXTS}, LABELS),
        InputError,
        r"expects a list of texts or a DataFrame, but got a dict\. Pass "
        r"pd\.DataFrame\(your_dict\)",
    ),
    case(
        "classifier-X-empty",
        lambda m, c: C().fit([], []),
        InputError,
        r"needs at least one text, but got an empty input \(0 rows\)\. Pass",
    ),
    case(
        "classifier-X-three-columns",
        lambda m, c: C().fit(
            pd.DataFrame({"a": TEXTS, "b": TEXTS, "c": TEXTS}), LABELS
        ),
        InputError,
        r"one text column, or two for text pairs, but got 3 columns \['a', 'b', "
        r"'c'\]\. Select the text column",
    ),
    case(
        "classifier-X-pair-then-single",
        lambda m, c: C().fit([("a", "b"), "c"], ["pos", "neg"]),
        InputError,
        r"expects every row to be a \(text, text\) pair like row 0, but row 1 is "
        r"'c'\. Give both texts",
    ),
    case(
        "classifier-X-None-second-text",
        lambda m, c: C().fit([("a", "b"), ("c", None)], ["pos", "neg"]),
        InputError,
        r"row 1 \(second text of the pair\) is missing \(None\)\. Drop or fill",
    ),
    # --- AlbertClassifier: y and weights ---
    case(
        "classifier-y-None",
        lambda m, c: C().fit(TEXTS, None),
        InputError,
        r"needs targets y \(one label per text\), but got y=None\. Pass",
    ),
    case(
        "classifier-y-length",
        lambda m, c: C().fit(TEXTS, LABELS[:5]),
        InputError,
        r"X has 16 and y has 5\. Pass one target per text",
    ),
    case(
        "classifier-y-missing-label",
        lambda m, c: C().fit(TEXTS[:3], ["pos", None, "neg"]),
        InputError,
        r"got a missing target \(None/NaN\) in row 1 of y\. Drop the rows",
    ),
    case(
        "classifier-y-one-class",
        lambda m, c: C().fit(TEXTS, ["pos"] * len(TEXTS)),
        InputError,
        r"needs at least two classes in y, but every row has the label 'pos'\. "
        r"Add examples",
    ),
    case(
        "classifier-y-mixed-types",
        lambda m, c: C().fit(TEXTS[:3], ["pos", 1, "neg"]),
        InputError,
        r"expects labels of one type, but y mixes \['int', 'str'\]\. Convert",
    ),
    case(
        "classifier-sample-weight-length",
        lambda m, c: C().fit(TEXTS, LABELS, sample_weight=[1.0, 2.0]),
        InputError,
        r"one weight per text \(16\), but got shape \(2,\)\. Pass",
    ),
    case(
        "classifier-sample-weight-negative",
        lambda m, c: C().fit(TEXTS, LABELS, sample_weight=[1.0] * 15 + [-1.0]),
        InputError,
        r"finite and >= 0, but row 15 is -1\.0\. Fix or drop that weight",
    ),
    case(
        "classifier-validation-data-triple",
        lambda m, c: C(validation_data=(TEXTS, LABELS, None)).fit(TEXTS, LABELS),
        InputError,
        r"validation_data must be a tuple \(X_val, y_val\), but got a tuple of 3 "
        r"items\. Pass",
    ),
    case(
        "classifier-max-length-param",
        lambda m, c: C(max_length=4).fit(TEXTS, LABELS),
        InvalidParameterError,
        r"The 'max_length' parameter of AlbertClassifier must be an int in the "
        r"range \[8, 512\]\. Got 4 instead",
    ),
    # --- AlbertClassifier: fitted ---
    case(
        "classifier-predict-unfitted",
        lambda m, c: C().predict(TEXTS),
        NotFittedError,
        r"This AlbertClassifier instance is not fitted yet\. Call 'fit'",
    ),
    case(
        "classifier-predict-other-columns",
        lambda m, c: m.classifier.predict(pd.DataFrame({"review": TEXTS})),
        InputError,
        r"was fitted on columns \['text'\] but got columns \['review'\]\. Rename",
    ),
    case(
        "classifier-predict-pairs-on-single-model",
        lambda m, c: m.classifier.predict([("a", "b")]),
        InputError,
        r"was fitted on single texts but got text pairs\. Pass single texts",
    ),
    case(
        "classifier-warm-fit-unseen-label",
        lambda m, c: warm(m.classifier).fit(
            pd.DataFrame({"text": TEXTS[:2]}), ["pos", "meh"]
        ),
        InputError,
        r"y holds labels \['meh'\] that AlbertClassifier was not fitted on "
        r"\(classes_ = \['neg', 'pos'\]\)\. Refit without warm_start",
    ),
    case(
        "classifier-predict-huge-text",
        lambda m, c: m.classifier.predict(["good " * 50_000, "fine", "bad " * 40]),
        TruncationWarning,
        r"2 of 3 texts were longer than max_length=32 tokens \(the longest had "
        r"\d+\) and were truncated \(rows \[0, 2\]\)\. Raise max_length",
    ),
    # --- AlbertRegressor ---
    case(
        "regressor-y-text",
        lambda m, c: R().fit(TEXTS[:2], ["high", "low"]),
        InputError,
        r"expects numeric targets, but row 0 of y is 'high'\. Convert y to numbers",
    ),
    case(
        "regressor-y-infinite",
        lambda m, c: R().fit(TEXTS[:3], [0.5, math.inf, 1.0]),
        InputError,
        r"expects finite targets, but row 1 of y is inf\. Drop",
    ),
    case(
        "regressor-y-3d",
        lambda m, c: R().fit(TEXTS[:2], np.zeros((2, 1, 1))),
        InputError,
        r"expects y 1-D or 2-D, but got shape \(2, 1, 1\)\. Pass",
    ),
    case(
        "regressor-y-None",
        lambda m, c: R().fit(TEXTS, None),
        InputError,
        r"needs numeric targets y, but got y=None\. Pass",
    ),
    case(
        "regressor-y-NaN",
        lambda m, c: R().fit(TEXTS[:3], [0.5, math.nan, 1.0]),
        InputError,
        r"got a missing target \(None/NaN\) in row 1 of y\. Drop the rows",
    ),
    case(
        "regressor-predict-pairs-on-single-model",
        lambda m, c: m.regressor.predict([("a", "b")]),
        InputError,
        r"AlbertRegressor was fitted on single texts but got text pairs\. Pass",
    ),
    # --- AlbertTagger ---
    case(
        "tagger-word-with-space",
        lambda m, c: T().fit([["New York", "is", "big"]], [["B-LOC", "O", "O"]]),
        InputError,
        r"expects words without whitespace, but sentence 0 word 0 is 'New York'\. "
        r"Split it",
    ),
    case(
        "tagger-empty-word",
        lambda m, c: T().fit([["Ada", ""]], [["B-PER", "O"]]),
        InputError,
        r"sentence 0 word 1 is ''\. Split it into words \(or drop empty words\)",
    ),
    case(
        "tagger-word-not-str",
        lambda m, c: T().fit([["Ada", 7]], [["B-PER", "O"]]),
        InputError,
        r"expects words \(str\), but sentence 0 word 1 is int \(7\)\. Convert",
    ),
    case(
        "tagger-tag-count",
        lambda m, c: T().fit(SENTENCES[:2], [TAGS[0], TAGS[1][:2]]),
        InputError,
        r"Sentence 1 has 3 words but 2 tags\. Give exactly one tag per word",
    ),
    case(
        "tagger-tag-not-in-scheme",
        lambda m, c: T().fit([["Ada", "left"]], [["PER", "O"]]),
        InputError,
        r"Sentence 0 word 0 has tag 'PER', which is not a IOB2 tag \(O, B-TYPE, "
        r"I-TYPE\)\. Pass scheme=",
    ),
    case(
        "tagger-bioes-tag-in-iob2",
        lambda m, c: T().fit([["Ada", "left"]], [["S-PER", "O"]]),
        InputError,
        r"word 0 has tag 'S-PER', which is not a IOB2 tag .* scheme=",
    ),
    case(
        "tagger-tag-not-str",
        lambda m, c: T(scheme=None).fit([["Ada", "left"]], [["NOUN", 3]]),
        InputError,
        r"Tags must be strings, but sentence 0 word 1 has tag 3 \(int\)\. Convert",
    ),
    case(
        "tagger-rows-mixed",
        lambda m, c: T().fit([["Ada"], "Bob left"], [["B-PER"], []]),
        InputError,
        r"every row to be a list of words like row 0, but row 1 is str .* Pass all",
    ),
    case(
        "tagger-y-None",
        lambda m, c: T().fit(SENTENCES, None),
        InputError,
        r"needs targets y \(one tag list per sentence.*\), but got y=None\. Pass",
    ),
    case(
        "tagger-span-outside-text",
        lambda m, c: T().fit(["Ada left"], [[(0, 30, "PER")]]),
        InputError,
        r"Text 0 span 0 \(0, 30\) falls outside the text \(length 8\) or is empty\. "
        r"Spans need 0 <= start < end <= len\(text\)",
    ),
    case(
        "tagger-span-overlap",
        lambda m, c: T().fit(["Ada Lovelace"], [[(0, 12, "PER"), (4, 12, "PER")]]),
        InputError,
        r"Text 0 has overlapping spans \(0, 12\) and \(4, 12\)\. .* keep one",
    ),
    case(
        "tagger-span-offsets-not-int",
        lambda m, c: T().fit(["Ada left"], [[("a", 3, "PER")]]),
        InputError,
        r"Span offsets must be ints, but text 0 span 0 is \('a', 3, 'PER'\)\. Give",
    ),
    case(
        "tagger-span-whitespace",
        lambda m, c: T().fit(["Ada  left"], [[(3, 5, "PER")]]),
        InputError,
        r"Text 0 span 0 \(3, 5\) covers only whitespace \('  '\)\. Point the span",
    ),
    case(
        "tagger-stride-too-large",
        lambda m, c: T(stride=20).fit(SENTENCES, TAGS),
        InputError,
        r"stride=20 must be at most max_length // 2 = 16 .*\. Lower stride",
    ),
    case(
        "tagger-score-tag-not-in-scheme",
        lambda m, c: m.tagger.score(SENTENCES[:1], [["B-PER", "O", "O", "LOC"]]),
        InputError,
        r"Sentence 0 word 3 has tag 'LOC', which is not a IOB2 tag",
    ),
    case(
        "tagger-entities-of-word-lists",
        lambda m, c: m.tagger.predict_entities(SENTENCES[:1]),
        InputError,
        r"predict_entities expects raw strings .* but got word lists\. Use predict",
    ),
    case(
        "tagger-score-sample-weight",
        lambda m, c: m.tagger.score(SENTENCES, TAGS, sample_weight=[1] * 16),
        InputError,
        r"does not take sample_weight .*; pass sample_weight=None",
    ),
    case(
        "tagger-warm-fit-unseen-tag",
        lambda m, c: warm(m.tagger).fit([["Ada", "sings"]], [["B-PER", "B-MISC"]]),
        InputError,
        r"y holds tags \['B-MISC'\] that AlbertTagger was not fitted on "
        r"\(labels_ = .*\)\. Refit without warm_start",
    ),
    case(
        "tagger-conll-invalid-utf8",
        lambda m, c: read_conll(m.file("bad.conll", b"Ada B-PER\nZo\xeb B-PER\n")),
        InputError,
        r"CoNLL file .* is not utf-8 text \(byte 0xeb at line 2\)\. Pass its "
        r"encoding",
    ),
    case(
        "tagger-conll-too-few-columns",
        lambda m, c: read_conll(
            m.file("few.conll", "Ada B-PER\nsings\n"), columns=(0, 1)
        ),
        InputError,
        r"Line 2 of .* has 1 column\(s\) \('sings'\), but columns=\(0, 1\) needs "
        r"2\. Pass the columns",
    ),
    # --- AlbertQA ---
    case(
        "qa-missing-column",
        lambda m, c: Q().fit(
            pd.DataFrame({"question": ["Who?"], "passage": ["x"]}), ["x"]
        ),
        InputError,
        r"but the DataFrame lacks \['context'\] \(columns: \['question', 'passage'\]\)"
        r"\. Rename the columns",
    ),
    case(
        "qa-row-not-dict",
        lambda m, c: Q().fit([QA_ROW, ("Who?", CONTEXT)], ["Ada", "Ada"]),
        InputError,
        r"but row 1 is a tuple \(.*\)\. Give every row as a dict",
    ),
    case(
        "qa-row-missing-key",
        lambda m, c: Q().fit([QA_ROW, {"question": "Who?"}], ["Ada", "Ada"]),
        InputError,
        r"row 1 lacks the keys \['context'\] \(keys: \['question'\]\)\. Give every",
    ),
    case(
        "qa-empty-question",
        lambda m, c: Q().fit([QA_ROW, {**QA_ROW, "question": "  "}], ["Ada", "Ada"]),
        InputError,
        r"got an empty question in row 1 \('  '\)\. .* drop that row",
    ),
    case(
        "qa-missing-context",
        lambda m, c: Q().fit([{**QA_ROW, "context": None}], ["Ada"]),
        InputError,
        r"row 0 has a missing context \(None\)\. Convert it first",
    ),
    case(
        "qa-answer-not-in-context",
        lambda m, c: Q().fit([QA_ROW, QA_ROW], ["Ada", "London"]),
        InputError,
        r"The answer of row 1, 'London', does not occur in its context\. Answers "
        r"must be exact substrings",
    ),
    case(
        "qa-answer-start-past-end",
        lambda m, c: Q().fit([QA_ROW], [{"text": "Ada", "answer_start": 500}]),
        InputError,
        r"row 0 says answer_start=500, but the context there reads '', not the "
        r"answer 'Ada'\. Fix answer_start",
    ),
    case(
        "qa-answer-start-wrong",
        lambda m, c: Q().fit([QA_ROW], [{"text": "Ada", "answer_start": 4}]),
        InputError,
        r"says answer_start=4, but the context there reads 'was', not the answer",
    ),
    case(
        "qa-answer-start-not-int",
        lambda m, c: Q().fit([QA_ROW], [{"text": "Ada", "answer_start": "0"}]),
        InputError,
        r"expects 'answer_start' to be an int, but row 0 has str \('0'\)\. Pass",
    ),
    case(
        "qa-answer-dict-without-text",
        lambda m, c: Q().fit([QA_ROW], [{"answer": "Ada"}]),
        InputError,
        r"answer dicts with a 'text' key .*, but the answer of row 0 has keys "
        r"\['answer'\]\. Give",
    ),
    case(
        "qa-answer-not-str",
        lambda m, c: Q().fit([QA_ROW], [1815]),
        InputError,
        r"expects answer texts \(str\), but row 0 of y holds a int \(1815\)\. Pass",
    ),
    case(
        "qa-answer-count",
        lambda m, c: Q().fit([QA_ROW, QA_ROW], ["Ada"]),
        InputError,
        r"X has 2 questions and y has 1 answers\. Pass one answer per question",
    ),
    case(
        "qa-query-length-param",
        lambda m, c: Q(max_query_length=40).fit([QA_ROW], ["Ada"]),
        InputError,
        r"'max_query_length' parameter of AlbertQA must be at most max_length - 4 "
        r"= 28.* Got 40 .* Lower max_query_length",
    ),
    case(
        "qa-auto-threshold-without-validation",
        lambda m, c: Q(allow_no_answer=True, null_score_threshold="auto").fit(
            [QA_ROW], ["Ada"]
        ),
        InputError,
        r"picks the threshold on validation questions, but neither .* is set\. Pass",
    ),
    case(
        "qa-n-best-zero",
        lambda m, c: m.qa.predict_spans(QUESTIONS[:1], n_best=0),
        InputError,
        r"n_best must be an int >= 1, but got 0\. Pass n_best=1",
    ),
    case(
        "qa-squad-invalid-utf8",
        lambda m, c: read_squad(m.file("bad.json", b'{"data": ["caf\xe9"]}')),
        InputError,
        r"SQuAD file .* is not UTF-8 text \(byte 0xe9 at line 1\)\. Save the file",
    ),
    # --- AlbertVectorizer ---
    case(
        "vectorizer-X-None",
        lambda m, c: V().fit(None),
        InputError,
        r"expects a list, array, Series or DataFrame of texts, but got NoneType\. "
        r"Pass",
    ),
    case(
        "vectorizer-transform-number",
        lambda m, c: m.vectorizer.transform(["fine", 3.5]),
        InputError,
        r"expects texts \(str\), but row 1 is float \(3\.5\)\. Convert",
    ),
    case(
        "vectorizer-transform-unfitted",
        lambda m, c: V().transform(TEXTS),
        NotFittedError,
        r"AlbertVectorizer instance is not fitted yet\. Call 'fit'",
    ),
    # --- AlbertPretrainer ---
    case(
        "pretrainer-corpus-missing-file",
        lambda m, c: P().fit("no/such/corpus.txt"),
        InputError,
        r"corpus='no/such/corpus\.txt' is not an existing file\. Pass a path",
    ),
    case(
        "pretrainer-corpus-dict",
        lambda m, c: P().fit({"doc": "text"}),
        InputError,
        r"corpus must be a list of documents \(str\), .* but got dict\. Pass",
    ),
    case(
        "pretrainer-document-not-str",
        lambda m, c: P().fit(["one doc. Two sentences.", None, 5]),
        InputError,
        r"must hold documents as str, but document 1 is NoneType \(None\)\. "
        r"Convert or drop",
    ),
    case(
        "pretrainer-blank-corpus",
        lambda m, c: P().fit(["", "   ", "\n"]),
        InputError,
        r"holds no text: every document is empty or blank\. Pass documents",
    ),
    case(
        "pretrainer-invalid-utf8-file",
        lambda m, c: P().fit(m.file("corpus.txt", b"fine line\nbad \xff line\n")),
        InputError,
        r"corpus file .* is not UTF-8 text \(byte 0xff at line 2\)\. Convert it",
    ),
    case(
        "pretrainer-generator-without-max-steps",
        lambda m, c: AlbertPretrainer(backbone="tiny").fit(d for d in TEXTS),
        InputError,
        r"one-shot iterator .* has no length .*\. Pass max_steps=N",
    ),
    # --- The albert-sk command ---
    case(
        "cli-fit-missing-file",
        lambda m, c: cli(c, ["fit", "--data", "nope.csv", "--out", "m.albert"]),
        CliError,
        r"albert-sk fit: error: no such file: 'nope\.csv'\. Check the --data path",
    ),
    case(
        "cli-fit-wrong-extension",
        lambda m, c: cli(
            c, ["fit", "--data", m.file("d.txt", "x"), "--out", "m.albert"]
        ),
        CliError,
        r"expected a \.csv, \.tsv, \.jsonl or \.parquet file, got '\.txt'\. Convert",
    ),
    case(
        "cli-fit-wrong-target-column",
        lambda m, c: cli(
            c,
            ["fit", "--data", m.table(), "--target-column", "y", "--out", "m.albert"],
        ),
        CliError,
        r"column 'y' is not in .*, which has columns \['text', 'label'\]\. Pass "
        r"--target-column NAME",
    ),
    case(
        "cli-fit-wrong-text-column",
        lambda m, c: cli(
            c,
            ["fit", "--data", m.table(), "--text-column", "review", "--out", "m"],
        ),
        CliError,
        r"column 'review' is not in .*\['text', 'label'\]\. Pass --text-column NAME",
    ),
    case(
        "cli-fit-invalid-utf8",
        lambda m, c: cli(
            c, ["fit", "--data", m.file("bad.csv", INVALID_UTF8), "--out", "m"]
        ),
        CliError,
        r"cannot read .*bad\.csv.* as UTF-8 text: byte 0xff at line 3 .* Save "
        r"the file as UTF-8",
    ),
    case(
        "cli-fit-empty-text-cell",
        lambda m, c: cli(
            c,
            [
                "fit",
                "--data",
                m.table("gap.csv", text=["good", None, "bad"], label=["p", "n", "n"]),
                "--out",
                str(m.folder / "gap.albert"),
            ],
        ),
        CliError,
        r"expects a text in every row, but row 1 \(line 3 of gap\.csv\) is missing "
        r"\(nan\)\. Drop or fill",
    ),
    case(
        "cli-fit-bad-set",
        lambda m, c: cli(
            c, ["fit", "--data", m.table(), "--out", "m", "--set", "epochs"]
        ),
        CliError,
        r"--set expects key=value \(e\.g\. --set epochs=3\), got 'epochs'\.",
    ),
    case(
        "cli-fit-unknown-parameter",
        lambda m, c: cli(
            c, ["fit", "--data", m.table(), "--out", "m", "--set", "epoch=3"]
        ),
        CliError,
        r"unknown parameter 'epoch' for AlbertClassifier\. Known parameters: .*epochs",
    ),
    case(
        "cli-fit-bad-parameter-value",
        lambda m, c: cli(
            c,
            [
                "fit",
                "--data",
                m.table(),
                "--out",
                str(m.folder / "bad.albert"),
                "--set",
                "epochs=0",
            ],
        ),
        CliError,
        r"The 'epochs' parameter of AlbertClassifier must be an int in the range "
        r"\[1, inf\)\. Got 0 instead",
    ),
    case(
        "cli-predict-missing-model",
        lambda m, c: cli(c, ["predict", "--model", "no.albert", "--data", m.table()]),
        CliError,
        r"no such model file: 'no\.albert'\. Write one with albert-sk fit",
    ),
    case(
        "cli-predict-wrong-columns",
        lambda m, c: cli(
            c,
            [
                "predict",
                "--model",
                m.classifier_file,
                "--data",
                m.table("other.csv", review=TEXTS),
            ],
        ),
        CliError,
        r"column 'text' is not in .*, which has columns \['review'\]\. Pass "
        r"--text-column NAME",
    ),
]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return Models(tmp_path_factory.mktemp("bad_inputs"))


def test_the_catalogue_is_large_and_covers_everything():
    ids = [p.id for p in CASES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)
    for prefix in ("classifier", "regressor", "tagger", "qa", "vectorizer"):
        assert any(i.startswith(prefix + "-") for i in ids), prefix
    assert any(i.startswith("pretrainer-") for i in ids)
    assert any(i.startswith("cli-") for i in ids)


@pytest.mark.parametrize("call, error, match", CASES)
def test_bad_input(call, error, match, models, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # relative paths in the CLI cases land here
    if issubclass(error, Warning):
        with pytest.warns(error, match=match):
            call(models, capsys)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VocabularyWarning)
        with pytest.raises(error, match=match):
            call(models, capsys)
