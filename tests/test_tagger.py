"""AlbertTagger: word-level tags, windows, alignment, schemes, entities, real data."""

import pickle
import random

import numpy as np
import pandas as pd
import pytest
from _data import bundled, require
from _marks import API_FITS
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from albert_sk import AlbertTagger
from albert_sk.align import (
    from_iob2,
    get_entities,
    memorised_tags,
    most_frequent_tag,
    repair_iob2,
    to_iob2,
)
from albert_sk.decoding import FORBIDDEN, allowed_transitions, marginals, viterbi
from albert_sk.exceptions import InputError, LabelWarning
from albert_sk.io import read_conll, write_conll
from albert_sk.metrics import entity_f1_score, entity_f1_scorer
from albert_sk.windows import word_windows

pytestmark = API_FITS

NAMES = ["Ada", "Bob", "Carla", "Dmitri", "Emeka", "Fatima", "Grace", "Hiro"]
CITIES = [["Paris"], ["Rome"], ["Lagos"], ["New", "York"], ["Oslo"], ["Lima"]]
FILLER = ["today", "again", "happily", "at", "noon", "with", "friends", "."]


def synthetic(n, seed=0):
    """Template sentences: people (PER) travelling to cities (LOC)."""
    rng = random.Random(seed)
    X, y = [], []
    for _ in range(n):
        name, city = rng.choice(NAMES), rng.choice(CITIES)
        verb = rng.choice(["visits", "loves", "left", "flew to"]).split()
        words = [name, *verb, *city, *rng.sample(FILLER, rng.randint(0, 3))]
        tags = ["B-PER"] + ["O"] * len(verb)
        tags += ["B-LOC"] + ["I-LOC"] * (len(city) - 1)
        X.append(words)
        y.append(tags + ["O"] * (len(words) - len(tags)))
    return X, y


def raw_synthetic(n, seed=0):
    texts, spans = [], []
    for words, tags in zip(*synthetic(n, seed), strict=True):
        text, starts = "", []
        for w in words:
            text += "" if not text else "  " if w == "." else " "
            starts.append(len(text))
            text += w
        entities = [
            (starts[a], starts[b - 1] + len(words[b - 1]), label)
            for label, a, b in get_entities(tags)
        ]
        texts.append(text)
        spans.append(entities)
    return texts, spans


def tiny(**params):
    base = dict(
        backbone="tiny",
        vocab_size=64,
        max_length=24,
        epochs=12,
        batch_size=8,
        learning_rate=3e-3,
        random_state=0,
    )
    return AlbertTagger(**{**base, **params})


@pytest.fixture(scope="module")
def data():
    return synthetic(160)


@pytest.fixture(scope="module")
def fitted():
    """One tagger for most tests, trained on raw texts with span annotations."""
    return tiny().fit(*raw_synthetic(160))


# === Fit and predict ===


def test_learns_the_synthetic_task(fitted):
    X, y = synthetic(60, seed=1)
    assert fitted.score(X, y) > 0.9
    assert set(fitted.classes_) == {"B-LOC", "B-PER", "I-LOC", "O"}
    assert list(fitted.labels_) == sorted(fitted.classes_)
    assert fitted.history_["loss"][-1] < fitted.history_["loss"][0]


def test_score_is_entity_f1_of_predict(fitted):
    X, y = synthetic(30, seed=2)
    y = [t[:-1] + ["B-PER"] if len(t) > 4 else t for t in y]  # some errors
    assert fitted.score(X, y) == entity_f1_score(y, fitted.predict(X))


def test_predict_one_tag_per_word_never_truncated(fitted):
    X = [
        [],
        ["\u200b"],  # no SentencePiece piece at all
        ["Ada"],
        ["Ada", "\u200b", "visits", "Rome"],
        (NAMES * 300)[:2000],  # far longer than max_length=24 pieces
        pd.Series(["Bob", "left", "Oslo"]).to_numpy(),
    ]
    tags = fitted.predict(X)
    assert [len(t) for t in tags] == [len(x) for x in X]
    assert all(isinstance(t, str) for sentence in tags for t in sentence)
    assert fitted.predict(pd.Series([["Grace", "loves", "Lima"]]))[0][0] == "B-PER"
    frame = pd.DataFrame({"tokens": [["Grace", "loves", "Lima"], ["Bob"]]})
    assert [len(t) for t in fitted.predict(frame)] == [3, 1]


def test_predictions_are_well_formed(fitted):
    rng = random.Random(3)
    vocabulary = NAMES + FILLER + ["York", "New", "Rome"]
    X = [[rng.choice(vocabulary) for _ in range(rng.randint(1, 40))] for _ in range(40)]
    for sentence in fitted.predict(X):
        assert repair_iob2(sentence) == sentence


def reference_proba(tagger, words, aggregation):
    """Word probabilities computed the slow, obvious way, one window at a time."""
    tok = tagger.tokenizer_
    size = tagger.max_length - 2
    bare = tok._sp.piece_to_id("\u2581")
    pieces = [p[:size] or [tok.unk_id] for p in tok.encode(words)]
    counts = [len(p) for p in pieces]
    windows = word_windows(counts, size, tagger._stride())
    n = len(words)
    best = {}  # word -> (context, window, probabilities of its pieces)
    for k, (a, b) in enumerate(windows):
        row = [tok.cls_id] + [t for p in pieces[a:b] for t in p] + [tok.sep_id]
        x = {
            "token_ids": np.asarray([row], "int32"),
            "segment_ids": np.zeros((1, len(row)), "int32"),
            "padding_mask": np.ones((1, len(row)), "int32"),
        }
        logits = np.asarray(tagger.model_.predict_on_batch(x))[0].astype("float64")
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        position = 1
        for w in range(a, b):
            lead = 1 if len(pieces[w]) > 1 and pieces[w][0] == bare else 0
            first = position + lead
            left = first - 1 if a > 0 else np.inf
            right = len(row) - 2 - first if b < n else np.inf
            context = min(left, right)
            if w not in best or context > best[w][0]:
                word_probs = probs[position : position + len(pieces[w])]
                best[w] = (context, k, word_probs, lead)
            position += len(pieces[w])
    out = []
    for w in range(n):
        _, _, word_probs, lead = best[w]
        if aggregation == "first":
            out.append(word_probs[lead])
        elif aggregation == "average":
            out.append(word_probs.mean(0))
        else:
            out.append(word_probs[word_probs.max(1).argmax()])
    return np.asarray(out), len(windows)


@pytest.mark.parametrize("aggregation", ["first", "average", "max"])
def test_windows_take_each_word_from_its_widest_context(fitted, aggregation):
    tagger = pickle.loads(pickle.dumps(fitted))
    tagger.set_params(aggregation=aggregation, stride=6)
    rng = random.Random(4)
    words = [rng.choice(NAMES + FILLER + ["Lagos", "flew", "to"]) for _ in range(70)]
    expected, n_windows = reference_proba(tagger, words, aggregation)
    assert n_windows > 3
    got = tagger.predict_proba([words, ["Ada"]])[0]
    # predict_proba: the marginals of those probabilities and the transitions
    marginal = marginals(expected, [len(words)], tagger.transitions_)
    np.testing.assert_allclose(got, marginal, atol=1e-5)
    # Tags are the Viterbi path of those probabilities and the transitions.
    path = viterbi(expected, [len(words)], tagger.transitions_)
    expected_tags = tagger.labels_[path].tolist()
    assert tagger.predict([words])[0] == expected_tags


def test_predict_proba_rows_sum_to_one(fitted):
    proba = fitted.predict_proba([["Ada", "visits", "New", "York"], []])
    assert proba[0].shape == (4, len(fitted.labels_))
    assert proba[1].shape == (0, len(fitted.labels_))
    np.testing.assert_allclose(proba[0].sum(1), 1.0, atol=1e-5)


def test_label_all_tokens_and_empty_sentences(data):
    X, y = data
    tagger = tiny(label_all_tokens=True, epochs=1, aggregation="average")
    # Empty sentences are allowed in fit (and contribute nothing).
    tags = tagger.fit([[], *X[:40], []], [[], *y[:40], []]).predict(X[:5] + [[]])
    assert [len(t) for t in tags] == [len(x) for x in X[:5]] + [0]


def test_sample_weight_changes_the_fit_and_ones_change_nothing(data):
    X, y = data[0][:60], data[1][:60]
    plain = tiny(epochs=2, validation_split=0.2).fit(X, y)
    ones = tiny(epochs=2, validation_split=0.2).fit(X, y, sample_weight=np.ones(60))
    np.testing.assert_allclose(ones.history_["loss"], plain.history_["loss"], rtol=1e-5)
    weights = np.ones(60)
    weights[::2] = 0.0  # half the sentences do not count
    half = tiny(epochs=2, validation_split=0.2).fit(X, y, sample_weight=weights)
    assert len(half.history_["val_loss"]) == 2
    assert not np.allclose(half.history_["loss"], plain.history_["loss"], rtol=1e-3)


# === Schemes ===


@pytest.mark.parametrize("scheme", ["BIOES", "IOB1"])
def test_other_schemes_in_and_out(data, scheme):
    X, y = data
    y_scheme = [from_iob2(t, scheme) for t in y]
    tagger = tiny(scheme=scheme, epochs=2).fit(X[:40], y_scheme[:40])
    assert set(tagger.classes_) == {t for s in y_scheme[:40] for t in s}
    # BIOES is learned as written (it says where entities end); IOB1 as IOB2.
    learned = tagger.classes_ if scheme == "BIOES" else {t for s in y for t in s}
    assert set(tagger.labels_) == set(learned)
    assert tagger.tag_scheme_ == {"BIOES": "BIOES", "IOB1": "IOB2"}[scheme]
    pred = tagger.predict(X[80:])
    for sentence in pred:
        assert from_iob2(to_iob2(sentence, scheme), scheme) == sentence
    assert tagger.score(X[80:], y_scheme[80:]) == entity_f1_score(
        y[80:], [to_iob2(s, scheme) for s in pred]
    )


def test_plain_labels_score_word_accuracy(data):
    X = data[0][:40]
    kinds = {**{n: "NAME" for n in NAMES}, **{w: "FILL" for w in FILLER}}
    y = [[kinds.get(w, "W") for w in s] for s in X]
    tagger = tiny(scheme=None, epochs=1).fit(X, y)
    assert set(tagger.classes_) == {"NAME", "FILL", "W"}
    pred = tagger.predict(X[:2])
    flat = [
        a == b
        for p, t in zip(pred, y[:2], strict=True)
        for a, b in zip(p, t, strict=True)
    ]
    assert tagger.score(X[:2], y[:2]) == pytest.approx(np.mean(flat))
    with pytest.raises(InputError, match="fitted with scheme=None"):
        tagger.predict_entities(["the cat"])


# === Raw text and character offsets ===


def test_fit_on_raw_text_with_spans_and_predict_entities(fitted):
    tagger = fitted
    test_texts, test_spans = raw_synthetic(30, seed=6)
    result = tagger.predict_entities(test_texts)
    found = [[(e["start"], e["end"], e["label"]) for e in r] for r in result]
    hits = sum(len(set(f) & set(g)) for f, g in zip(found, test_spans, strict=True))
    assert hits / sum(map(len, test_spans)) > 0.8
    for text, records in zip(test_texts, result, strict=True):
        for e in records:
            assert text[e["start"] : e["end"]] == e["text"]
            assert 0.0 < e["score"] <= 1.0
    assert tagger.score(test_texts, test_spans) > 0.8


def test_entity_offsets_survive_normalisation(fitted):
    lower = clone(fitted).set_params(lowercase=True, epochs=1)
    X, y = synthetic(40)
    extra = "Quentin jumps over the lazy brown fox quickly with zebras".split()
    lower.fit(X + [extra], y + [["O"] * len(extra)])
    assert lower.tokenizer_.lowercase and not fitted.tokenizer_.lowercase
    texts = ["ÀDA VISITS  Zoë's NEW YORK!!", "", "\u200b Ada", "İstanbul ß Straße"]
    for tagger in (fitted, lower):
        result = tagger.predict_entities(texts)
        assert len(result) == len(texts)
        for text, records in zip(texts, result, strict=True):
            for e in records:
                assert text[e["start"] : e["end"]] == e["text"]
                assert e["text"] == e["text"].strip() and e["text"]


def test_predict_entities_as_frame(fitted):
    texts = ["Ada visits Rome .", "nothing here", "Bob loves New York"]
    frame = fitted.predict_entities(texts, as_frame=True)
    assert list(frame.columns) == ["row", "text", "label", "start", "end", "score"]
    records = fitted.predict_entities(texts)
    assert len(frame) == sum(map(len, records))
    for row in frame.itertuples():
        assert texts[row.row][row.start : row.end] == row.text
    empty = fitted.predict_entities([""], as_frame=True)
    assert empty.empty and list(empty.columns) == list(frame.columns)


def test_predict_on_raw_strings_tags_split_words(fitted):
    tags = fitted.predict(["Ada visits Rome.", ""])
    assert len(tags[0]) == 4 and tags[1] == []


# === Persistence and sklearn ===


def test_save_load_and_pickle_round_trip(fitted, tmp_path):
    X = [["Grace", "flew", "to", "Lima"], (NAMES * 20)[:90]]
    expected = fitted.predict_proba(X)
    loaded = AlbertTagger.load(fitted.save(tmp_path / "tagger.albert"))
    restored = pickle.loads(pickle.dumps(fitted))
    for other in (loaded, restored):
        assert other.get_params() == fitted.get_params()
        assert list(other.classes_) == list(fitted.classes_)
        for a, b in zip(other.predict_proba(X), expected, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-6)


def test_a_file_saved_before_structured_decoding_still_loads(fitted, tmp_path):
    """Files written before tag_scheme_ and transitions_ existed hold an IOB2
    model: they load, and predict decodes with IOB2's allowed transitions."""
    import json
    import zipfile

    path = fitted.save(tmp_path / "new.albert")
    old = tmp_path / "old.albert"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "albert_sk.json":
                meta = json.loads(data)
                del meta["fitted"]["tag_scheme_"], meta["fitted"]["transitions_"]
                del meta["params"]["transitions"]
                data = json.dumps(meta).encode()
            dst.writestr(item, data)
    loaded = AlbertTagger.load(old)
    assert loaded.tag_scheme_ == "IOB2"
    assert loaded.transitions == "counted"  # what files before the CRF did
    X = [["Grace", "flew", "to", "Lima"], (NAMES * 20)[:90]]
    allowed = allowed_transitions(fitted.labels_.tolist(), "IOB2")
    np.testing.assert_array_equal(loaded.transitions_ > FORBIDDEN, allowed)
    inputs = loaded._check_X(X, reset=False)
    # the model's own probabilities (predict_proba gives marginals)
    own = loaded._split_sentences(loaded._word_probabilities(inputs), inputs)
    for proba, tags in zip(own, loaded.predict(X), strict=True):
        path = viterbi(proba, [len(proba)], loaded.transitions_)
        assert tags == loaded.labels_[path].tolist()
        assert repair_iob2(tags) == tags


def test_scoring_in_another_scheme_than_the_model_learned(fitted, data):
    """An IOB2 model scored on BIOES tags: an IOB2-era BIOES file loads with
    tag_scheme_ IOB2 and scheme BIOES, as does set_params(scheme=) after fit."""
    tagger = pickle.loads(pickle.dumps(fitted)).set_params(scheme="BIOES")
    X, y = data[0][100:140], data[1][100:140]
    y_bioes = [from_iob2(t, "BIOES") for t in y]
    pred = tagger.predict(X)
    assert all(from_iob2(to_iob2(t, "BIOES"), "BIOES") == t for t in pred)
    expected = entity_f1_score(y, [to_iob2(t, "BIOES") for t in pred])
    assert tagger.score(X, y_bioes) == pytest.approx(expected)


def test_stray_inside_tags_under_iob2_warn_with_the_fix(data):
    X, y = data[0][:40], [list(t) for t in data[1][:40]]
    y = [["I-PER" if t == "B-PER" else t for t in tags] for tags in y]  # IOB1
    with pytest.warns(LabelWarning, match=r"I- tags that continue no .*'IOB1'") as rec:
        tiny(epochs=1).fit(X, y)
    # The warning names the user's line, not one inside albert_sk or sklearn.
    assert {w.filename for w in rec} == {__file__}


def test_spans_cut_words_into_new_inputs_and_leave_the_given_ones(fitted):
    """A span edge inside a word cuts it: _check_y returns the cut words (fit
    trains on them, score decodes them) and leaves its inputs as they were."""
    texts = ["Ada visits Romeo today"]
    inputs = fitted._check_X(texts, reset=False)
    targets, cut = fitted._check_y([[(0, 3, "PER"), (11, 15, "LOC")]], inputs)
    assert inputs.sentences == [["Ada", "visits", "Romeo", "today"]]
    assert [e.tolist() for e in inputs.offsets[0]] == [[0, 4, 11, 17], [3, 10, 16, 22]]
    assert cut.sentences == [["Ada", "visits", "Rome", "o", "today"]]
    assert [e.tolist() for e in cut.offsets[0]] == [
        [0, 4, 11, 15, 17],
        [3, 10, 15, 16, 22],
    ]
    tags = fitted.labels_[targets[0]].tolist()
    assert tags == ["B-PER", "O", "B-LOC", "O", "O"]


def test_grid_search_scores_by_entity_f1(data):
    """GridSearchCV with entity_f1_scorer scores each candidate by the entity F1
    of its predictions on the held-out fold, as a user would compute it."""
    X, y = data[0][:60], data[1][:60]
    train, test = np.arange(40), np.arange(40, 60)
    search = GridSearchCV(
        tiny(epochs=4),
        {"aggregation": ["max", "first"]},
        scoring=entity_f1_scorer,
        cv=[(train, test)],
        refit=False,
    )
    search.fit(X, y)
    for k, params in enumerate(search.cv_results_["params"]):
        model = tiny(epochs=4, **params).fit(
            [X[i] for i in train], [y[i] for i in train]
        )
        expected = entity_f1_score(
            [y[i] for i in test], model.predict([X[i] for i in test])
        )
        assert search.cv_results_["split0_test_score"][k] == pytest.approx(expected)
    assert search.cv_results_["mean_test_score"].max() > 0.3  # it learned entities


# === Bad input ===


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        ([["a", "b"]], [["O"]], "Sentence 0 has 2 words but 1 tags"),
        ([["a"], ["b"]], [["O"], [3]], "sentence 1 word 0 has tag 3 \\(int\\)"),
        ([["a"], ["b c"]], [["O"], ["O"]], "sentence 1 word 0 is 'b c'"),
        ([["a"], [""]], [["O"], ["O"]], "sentence 1 word 0 is ''"),
        ([["a"], [7]], [["O"], ["O"]], "sentence 1 word 0 is int"),
        ([["a"], ["b"]], [["O"]], "X and y must have the same number of rows"),
        ([["a"], "b"], [["O"], ["O"]], "row 1 is str"),
        (["a b", "cd"], [[], [(0, 9, "X")]], "Text 1 span 0 \\(0, 9\\) falls outside"),
        (["abcdef"], [[(0, 4, "X"), (2, 6, "Y")]], "Text 0 has overlapping spans"),
        ([["a"]], [["PER"]], "Sentence 0 word 0 has tag 'PER'"),
        ([["a"]], ["O"], "expects one tag list per sentence, but y\\[0\\] is str"),
        ([["a"]], None, "needs targets y"),
        ([[], []], [[], []], "every sentence is empty"),
        ("a b", [["O"]], "single str"),
        (pd.DataFrame({"a": [["x"]], "b": [["y"]]}), [["O"]], "with 2 columns"),
    ],
)
def test_bad_fit_input(X, y, message):
    with pytest.raises(InputError, match=message):
        tiny(epochs=1).fit(X, y)


def test_bad_predict_input(fitted):
    with pytest.raises(InputError, match="expects raw strings"):
        fitted.predict_entities([["Ada"]])
    with pytest.raises(InputError, match="sentence 0 word 1 is 'a b'"):
        fitted.predict([["x", "a b"]])
    with pytest.raises(InputError, match="not take sample_weight"):
        fitted.score([["Ada"]], [["B-PER"]], sample_weight=[1.0])
    with pytest.raises(InputError, match="y holds tags \\['B-ORG'\\]"):
        tiny(epochs=1, validation_data=([["x"]], [["B-ORG"]])).fit(*synthetic(20))
    with pytest.raises(InputError, match="stride=20 must be at most"):
        tiny(stride=20).fit(*synthetic(20))
    # Tags never seen in fit are fine in score (they just count as misses).
    assert fitted.score([["Ada", "x"]], [["B-PER", "B-ORG"]]) <= 2 / 3


# === CoNLL files and other input errors ===


def test_read_conll_wnut_and_conll2003(data_dir, tmp_path):
    train = require(data_dir / "wnut17" / "wnut17train.conll")
    X, y = read_conll(train)
    # The full files, or their slices in tests/data/ (see its SOURCES.md).
    assert len(X) == (672 if bundled(train) else 3394)
    assert [len(s) for s in X] == [len(t) for t in y]
    assert X[0][:3] == ["@paulwalk", "It", "'s"] and y[0][14] == "B-location"
    dev = require(data_dir / "wnut17" / "emerging.dev.conll")
    X_dev, _ = read_conll(dev)
    assert len(X_dev) == (300 if bundled(dev) else 1009)
    path = tmp_path / "eng.train"
    path.write_text(
        "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
        "-DOCSTART- -X- -X- O\nPeter NNP B-NP B-PER\n"
    )
    assert read_conll(path, columns=(0, 3)) == (
        [["EU", "rejects"], ["Peter"]],
        [["B-ORG", "O"], ["B-PER"]],
    )
    assert read_conll(path, columns=(0, None)) == ([["EU", "rejects"], ["Peter"]], None)
    with pytest.raises(InputError, match="Line 3 of .* has 4 column\\(s\\)"):
        read_conll(path, columns=(0, 5))


def test_write_conll_round_trip_and_errors(tmp_path):
    path = tmp_path / "out.conll"
    X, y = synthetic(5)
    write_conll(path, X, y, y, sep=" ")
    assert read_conll(path, columns=(0, 2)) == (X, y)
    with pytest.raises(InputError, match="sentence 0 has 2 words but tag column 0"):
        write_conll(path, [["a", "b"]], [["O"]])
    with pytest.raises(InputError, match="got 1 sentences but tag column 0 has 2"):
        write_conll(path, [["a"]], [["O"], ["O"]])
    with pytest.raises(InputError, match="sentence 0 word 0 is 'a b'"):
        write_conll(path, [["a b"]], [["O"]])
    with pytest.raises(InputError, match="sentence 0 word 0 has tag 'B PER'"):
        write_conll(path, [["a"]], [["B PER"]], sep=" ")


def test_other_input_errors():
    with pytest.raises(InputError, match="needs at least one sentence"):
        tiny().fit([], [])
    with pytest.raises(InputError, match="Span offsets must be ints"):
        tiny().fit(["abc"], [[("a", 2, "X")]])
    with pytest.raises(InputError, match="expects y as a list of tag lists"):
        tiny().fit([["a"]], "O")
    with pytest.raises(InputError, match="tag ''"):
        tiny(scheme=None).fit([["a"]], [[""]])


# === Real data: WNUT-17 ===


def test_wnut17_beats_baselines(data_dir):
    # The bundled slice (tests/data/) holds exactly the sentences used here.
    X_train, y_train = read_conll(require(data_dir / "wnut17" / "wnut17train.conll"))
    X_dev, y_dev = read_conll(require(data_dir / "wnut17" / "emerging.dev.conll"))
    # Sentences with entities: the entity-rich part of the training set.
    keep = [i for i, t in enumerate(y_train) if set(t) != {"O"}][:600]
    X_train, y_train = [X_train[i] for i in keep], [y_train[i] for i in keep]
    X_dev, y_dev = X_dev[:300], y_dev[:300]
    tagger = AlbertTagger(
        backbone="tiny",
        vocab_size=600,
        max_length=48,
        epochs=8,
        batch_size=8,
        learning_rate=2e-3,
        random_state=0,
    ).fit(X_train, y_train)
    f1 = tagger.score(X_dev, y_dev)
    majority = entity_f1_score(y_dev, most_frequent_tag(y_train, X_dev))
    memorised = entity_f1_score(y_dev, memorised_tags(X_train, y_train, X_dev))
    print(
        f"WNUT-17 dev entity F1: tagger {f1:.3f}, most frequent tag "
        f"{majority:.3f}, memorised word tags {memorised:.3f}"
    )
    assert majority == 0.0  # "O" everywhere finds no entity
    assert f1 > majority + 0.05
    assert f1 > memorised
