"""albert_sk against Hugging Face transformers itself (PyTorch, CPU).

(a) Checkpoints written by ``transformers``' ``save_pretrained`` (random
weights with randomised LayerNorms and biases, a SentencePiece vocabulary that
``AlbertTokenizer.from_pretrained`` converts) load into the estimators with
``preset=dir``: same token ids, same hidden states, same head outputs before
any training. (b) Every fitted estimator exported with ``export_hf`` loads in
``transformers``' ``Auto*`` classes and predicts what albert_sk predicts.
(c) BERT checkpoints (``BertModel``, ``BertFor*``, a WordPiece
``tokenizer.json`` trained with ``tokenizers``) load as ALBERTs without
sharing: same ids and offsets as ``BertTokenizerFast``, same hidden states as
``BertModel`` with the tanh GELU, the exact GELU's difference bounded; an
export loads in ``transformers`` as an ALBERT that predicts the same.

The optional ``hf`` extra (and the ``test`` extra, so CI runs these) installs
``torch`` and ``transformers``; without them the module is skipped.
"""

import shutil
import warnings

import numpy as np
import pytest
from _data import DATA
from _hf import hf_inputs  # noqa: E402

transformers = pytest.importorskip(
    "transformers",
    reason="transformers is not installed: pip install 'albert-sk[hf]' "
    "(the test extra, which CI installs, includes it)",
)
torch = pytest.importorskip(
    "torch", reason="torch is not installed: pip install 'albert-sk[hf]'"
)

from albert_sk import backbones  # noqa: E402
from albert_sk.align import from_iob2, repair_iob2, to_iob2  # noqa: E402
from albert_sk.decoding import viterbi  # noqa: E402
from albert_sk.exceptions import VocabularyWarning  # noqa: E402
from albert_sk.text import train_sentencepiece  # noqa: E402

# These tests check how weights and labels map, not learning: fits are one
# epoch of a tiny model, or a learning rate that leaves imported weights as
# they are.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

AWKWARD = [
    "Café Müller served a naïve crème brûlée in Zürich.",
    "He said ``what a great movie'' and left.",
    "double  spaces   and\ttabs\tand\nnewlines",
    "Emoji reviews 😀👍🏽 are common now 🎉",
    "東京は素晴らしい都市です。 北京も大きい。",
    "ﬁne ＡＢＣ ½ İstanbul STRAßE",
    "  leading and trailing  ",
    "It's ''fine'', isn't it?",
]
TINY = dict(
    embedding_size=16,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    max_position_embeddings=64,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    classifier_dropout_prob=0.0,
    initializer_range=0.1,
)


def as_numpy(tensor):
    return tensor.detach().cpu().numpy()


def randomise(model, seed):
    """Non-trivial LayerNorm scales and offsets and biases (defaults are 1 and 0)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "LayerNorm.weight" in name:
                param.copy_(1 + 0.3 * torch.randn(param.shape, generator=generator))
            elif name.endswith("bias"):
                param.copy_(0.2 * torch.randn(param.shape, generator=generator))
    return model.eval()


@pytest.fixture(scope="module")
def vocab_dir(tmp_path_factory, sentiment):
    """spiece.model trained on the sentiment sentences, converted by transformers."""
    path = tmp_path_factory.mktemp("spiece")
    texts = sentiment.text.tolist()[:2000] + AWKWARD * 3
    tok = train_sentencepiece(texts, 300, seed=0)
    (path / "spiece.model").write_bytes(tok.proto)
    hf_tok = transformers.AlbertTokenizer.from_pretrained(str(path))
    hf_tok.save_pretrained(str(path))
    return path, hf_tok


def save_checkpoint(path, model, vocab_dir):
    """``save_pretrained`` of model and tokenizer, as a hub checkpoint holds them."""
    source, hf_tok = vocab_dir
    model.save_pretrained(str(path))
    hf_tok.save_pretrained(str(path))
    if not (path / "spiece.model").exists():
        shutil.copy(source / "spiece.model", path / "spiece.model")
    return path


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory, vocab_dir):
    _, hf_tok = vocab_dir
    config = transformers.AlbertConfig(vocab_size=len(hf_tok), **TINY)
    torch.manual_seed(0)
    model = randomise(transformers.AlbertModel(config), 0)
    return save_checkpoint(tmp_path_factory.mktemp("albert"), model, vocab_dir), model


# === (a) checkpoints written by transformers, read by albert_sk ===


def test_token_ids_are_those_of_albert_tokenizer(base_dir, vocab_dir):
    path, _ = base_dir
    _, hf_tok = vocab_dir
    _, tok = backbones.from_preset(path, dtype=None, max_length=64)
    ours = tok.pack(tok.encode(AWKWARD), max_length=64)
    theirs = hf_tok(AWKWARD)["input_ids"]
    assert [ours.row(i).tolist() for i in range(len(AWKWARD))] == theirs
    assert any(1 < len(set(t)) for t in theirs)  # not all <unk>
    # Text pairs: same ids and segment ids.
    a, b = AWKWARD[:4], AWKWARD[4:]
    pairs = tok.pack(tok.encode(a), tok.encode(b), max_length=64)
    theirs = hf_tok(a, b, return_token_type_ids=True)
    for i in range(len(a)):
        start, n = pairs.starts[i], pairs.lengths[i]
        assert pairs.token_ids[start : start + n].tolist() == theirs["input_ids"][i]
        segments = pairs.segment_ids[start : start + n].tolist()
        assert segments == theirs["token_type_ids"][i]


def test_hidden_states_match_albert_model(base_dir):
    from albert_sk import AlbertVectorizer

    path, model = base_dir
    backbone, tok = backbones.from_preset(path, dtype=None, max_length=64)
    encoded = tok.pack(tok.encode(AWKWARD), max_length=64)
    batch = encoded.batch(np.arange(len(AWKWARD)), int(encoded.lengths.max()))
    ours = backbone.predict_on_batch(batch)
    with torch.no_grad():
        theirs = model(**hf_inputs(batch))
    mask = batch["padding_mask"].astype(bool)
    np.testing.assert_allclose(
        np.asarray(ours["sequence_output"])[mask],
        as_numpy(theirs.last_hidden_state)[mask],
        atol=1e-4,
    )
    np.testing.assert_allclose(
        ours["pooled_output"], as_numpy(theirs.pooler_output), atol=1e-4
    )
    assert np.abs(as_numpy(theirs.last_hidden_state)).mean() > 0.1  # not trivial
    # Through an estimator too.
    vec = AlbertVectorizer(preset=str(path), max_length=64, pooling="cls")
    np.testing.assert_allclose(
        vec.fit(AWKWARD).transform(AWKWARD),
        as_numpy(theirs.pooler_output),
        atol=1e-4,
    )


def test_hidden_states_at_albert_base_shape(tmp_path, vocab_dir):
    _, hf_tok = vocab_dir
    config = transformers.AlbertConfig(  # ALBERT-base: 12 shared layers, 768 wide
        vocab_size=len(hf_tok),
        embedding_size=128,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=64,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    assert (config.num_hidden_layers, config.hidden_size) == (12, 768)
    torch.manual_seed(1)
    model = randomise(transformers.AlbertModel(config), 1)
    path = save_checkpoint(tmp_path / "base", model, vocab_dir)
    backbone, tok = backbones.from_preset(path, dtype=None, max_length=64)
    encoded = tok.pack(tok.encode(AWKWARD[:3]), max_length=64)
    batch = encoded.batch(np.arange(3), int(encoded.lengths.max()))
    ours = np.asarray(backbone.predict_on_batch(batch)["sequence_output"])
    with torch.no_grad():
        theirs = as_numpy(model(**hf_inputs(batch)).last_hidden_state)
    mask = batch["padding_mask"].astype(bool)
    np.testing.assert_allclose(ours[mask], theirs[mask], atol=1e-4)


def fit_quietly(estimator, X, y):
    """A fit whose learning rate leaves the imported weights where they are."""
    return estimator.set_params(learning_rate=1e-12, dropout=0.0, epochs=1).fit(X, y)


# Each fine-tuned estimator below is also exported back in (b): a round trip.


@pytest.fixture(scope="module")
def hf_classifier(tmp_path_factory, vocab_dir, sentiment):
    """An AlbertClassifier fitted from an AlbertForSequenceClassification."""
    from albert_sk import AlbertClassifier

    _, hf_tok = vocab_dir
    names = {0: "negative", 1: "neutral", 2: "positive"}
    config = transformers.AlbertConfig(
        vocab_size=len(hf_tok),
        num_labels=3,
        id2label=names,
        label2id={v: k for k, v in names.items()},
        **TINY,
    )
    torch.manual_seed(2)
    model = randomise(transformers.AlbertForSequenceClassification(config), 2)
    path = save_checkpoint(tmp_path_factory.mktemp("clf"), model, vocab_dir)
    texts = sentiment.text.tolist()[:4] + AWKWARD
    labels = [names[i % 3] for i in range(len(texts))]
    clf = fit_quietly(AlbertClassifier(preset=str(path), max_length=64), texts, labels)
    return clf, model, config, texts


def test_sequence_classification_head_gives_transformers_outputs(
    hf_classifier, vocab_dir
):
    clf, model, config, texts = hf_classifier
    _, hf_tok = vocab_dir
    names = config.id2label
    with torch.no_grad():
        batch = hf_tok(texts, padding=True, truncation=True, return_tensors="pt")
        logits = as_numpy(model(**batch).logits)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    order = [config.label2id[c] for c in clf.classes_]
    np.testing.assert_allclose(clf.predict_proba(texts), proba[:, order], atol=1e-4)
    assert clf.predict(texts).tolist() == [names[i] for i in logits.argmax(axis=1)]


def own_proba(tagger, X):
    """The tagger network's own per-word probabilities: what a transformers
    model's softmax gives. ``predict_proba`` returns marginals, which weigh
    ``transitions_`` too (transformers has no transitions)."""
    inputs = tagger._check_X(X, reset=False)
    return tagger._split_sentences(tagger._word_probabilities(inputs), inputs)


def first_pieces(hf_tok, words):
    """Token index of each word's first piece with text (albert_sk's choice)."""
    encoding = hf_tok(words, is_split_into_words=True)
    tokens = encoding.tokens()
    pieces = [[] for _ in words]
    for k, w in enumerate(encoding.word_ids()):
        if w is not None:
            pieces[w].append(k)
    bare = [len(p) > 1 and tokens[p[0]] == "\u2581" for p in pieces]
    return encoding, [p[1] if b else p[0] for p, b in zip(pieces, bare, strict=True)]


@pytest.fixture(scope="module")
def hf_tagger(tmp_path_factory, vocab_dir):
    """An IOB2 AlbertTagger fitted from an AlbertForTokenClassification."""
    from albert_sk import AlbertTagger

    _, hf_tok = vocab_dir
    names = {0: "O", 1: "B-PER", 2: "I-PER"}
    config = transformers.AlbertConfig(
        vocab_size=len(hf_tok),
        num_labels=3,
        id2label=names,
        label2id={v: k for k, v in names.items()},
        **TINY,
    )
    torch.manual_seed(4)
    model = randomise(transformers.AlbertForTokenClassification(config), 4)
    path = save_checkpoint(tmp_path_factory.mktemp("ner"), model, vocab_dir)
    X = [t.split() for t in AWKWARD[:4]] + [["Ada", "Lovelace", "wrote", "code"]]
    y = [["B-PER"] + ["I-PER"] + ["O"] * (len(w) - 2) for w in X]
    # Exported below and read by transformers alone: counted transitions.
    tagger = AlbertTagger(preset=str(path), max_length=64, transitions="counted")
    tagger = fit_quietly(tagger, X, y)
    return tagger, model, config, X


def test_token_classification_head_gives_transformers_outputs(hf_tagger, vocab_dir):
    tagger, model, config, X = hf_tagger
    _, hf_tok = vocab_dir
    probs = own_proba(tagger, X)
    for words, ours in zip(X, probs, strict=True):
        encoding, first = first_pieces(hf_tok, words)
        with torch.no_grad():
            ids = torch.as_tensor([encoding["input_ids"]])
            logits = as_numpy(model(input_ids=ids).logits)[0, first]
        theirs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        order = [config.label2id[t] for t in tagger.labels_]
        np.testing.assert_allclose(ours, theirs[:, order], atol=1e-4)


@pytest.fixture(scope="module")
def hf_qa(tmp_path_factory, vocab_dir):
    """An AlbertQA fitted from an AlbertForQuestionAnswering."""
    from albert_sk import AlbertQA

    _, hf_tok = vocab_dir
    config = transformers.AlbertConfig(vocab_size=len(hf_tok), **TINY)
    torch.manual_seed(5)
    model = randomise(transformers.AlbertForQuestionAnswering(config), 5)
    path = save_checkpoint(tmp_path_factory.mktemp("qa"), model, vocab_dir)
    X = [
        {"question": "Where was the crème brûlée served?", "context": AWKWARD[0]},
        {"question": "What did he say?", "context": AWKWARD[1]},
    ]
    y = ["Zürich", "what a great movie"]
    qa = AlbertQA(preset=str(path), max_length=64, max_query_length=20)
    return fit_quietly(qa, X, y), model, X


def test_question_answering_head_gives_transformers_outputs(hf_qa, vocab_dir):
    qa, model, X = hf_qa
    _, hf_tok = vocab_dir
    for example, found in zip(X, qa.predict_spans(X, n_best=1), strict=True):
        encoding = hf_tok(
            example["question"],
            example["context"],
            return_offsets_mapping=True,
            return_token_type_ids=True,
        )
        with torch.no_grad():
            out = model(
                input_ids=torch.as_tensor([encoding["input_ids"]]),
                token_type_ids=torch.as_tensor([encoding["token_type_ids"]]),
            )
        answer = best_span(example["context"], encoding, out, qa.max_answer_length)
        assert (found[0]["start"], found[0]["end"]) == answer[:2]
        assert found[0]["score"] == pytest.approx(answer[2], abs=1e-4)


def best_span(context, encoding, out, max_answer_length):
    """transformers' outputs decoded as albert_sk decodes: the best context span
    of tokens with text (a bare word-boundary piece "▁" neither starts nor ends
    an answer)."""
    start = as_numpy(out.start_logits)[0].astype(np.float64)
    end = as_numpy(out.end_logits)[0].astype(np.float64)
    offsets = encoding["offset_mapping"]
    tokens = encoding.tokens()
    ok = [
        k
        for k, seq in enumerate(encoding.sequence_ids())
        if seq == 1 and tokens[k] != "\u2581"
    ]
    best = max(
        (start[s] + end[e], s, e)
        for s in ok
        for e in ok
        if s <= e < s + max_answer_length
    )
    score, s, e = best
    return offsets[s][0], offsets[e][1], score


# === (b) albert_sk exports, read by transformers ===


@pytest.fixture(scope="module")
def sentences(sentiment):
    """40 short sentences: every row fits one or two padded lengths (few traces)."""
    words = sentiment.text.str.split().str.len()
    short = sentiment[(words >= 5) & (words <= 7)]
    return short.sample(40, random_state=0).reset_index(drop=True)


TINY_FIT = dict(backbone="tiny", vocab_size=150, max_length=64, epochs=1, batch_size=64)


@pytest.fixture(scope="module")
def classifiers(sentences, hf_classifier):
    """Binary and multilabel from scratch; multiclass is the one from (a)."""
    from albert_sk import AlbertClassifier

    texts = sentences.text.tolist()
    binary = np.where(sentences.label == 1, "pos", "neg")
    multilabel = np.stack([sentences.label, np.arange(len(texts)) % 2], axis=1)
    fitted = {
        kind: AlbertClassifier(**TINY_FIT, pooling="cls", random_state=0).fit(texts, y)
        for kind, y in (("binary", binary), ("multilabel", multilabel))
    }
    return {**fitted, "multiclass": hf_classifier[0]}


def load_exported(estimator, path, auto):
    from albert_sk import export_hf

    out = export_hf(estimator, path)
    model = getattr(transformers, auto).from_pretrained(out).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        tok = transformers.AutoTokenizer.from_pretrained(out)
    return model, tok


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_exported_classifier_predicts_the_same_in_transformers(
    kind, classifiers, sentences, tmp_path
):
    clf = classifiers[kind]
    model, tok = load_exported(
        clf, tmp_path / kind, "AutoModelForSequenceClassification"
    )
    texts = sentences.text.tolist() + AWKWARD
    with torch.no_grad():
        batch = tok(texts, padding=True, truncation=True, return_tensors="pt")
        logits = as_numpy(model(**batch).logits).astype(np.float64)
    if kind == "multilabel":
        assert model.config.problem_type == "multi_label_classification"
        proba = 1 / (1 + np.exp(-logits))
        np.testing.assert_allclose(clf.predict_proba(texts), proba, atol=1e-5)
        np.testing.assert_array_equal(clf.predict(texts), proba >= clf.threshold)
        return
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(texts), proba, atol=1e-5)
    labels = [model.config.id2label[i] for i in logits.argmax(axis=1)]
    assert labels == clf.predict(texts).tolist()


def test_exported_regressor_predicts_the_same_in_transformers(sentences, tmp_path):
    from albert_sk import AlbertRegressor

    texts = sentences.text.tolist()
    y = 1000 + 250 * sentences.label.to_numpy() + np.arange(len(texts))
    reg = AlbertRegressor(**TINY_FIT, pooling="cls", random_state=0).fit(texts, y)
    model, tok = load_exported(
        reg, tmp_path / "reg", "AutoModelForSequenceClassification"
    )
    assert model.config.problem_type == "regression"
    with torch.no_grad():
        batch = tok(texts + AWKWARD, padding=True, truncation=True, return_tensors="pt")
        theirs = as_numpy(model(**batch).logits)[:, 0]
    ours = reg.predict(texts + AWKWARD)
    assert ours.mean() > 900  # target units, not z-scores
    np.testing.assert_allclose(theirs, ours, rtol=1e-5)


def tagging_data(sentences, scheme):
    """Word lists with a PER entity at the start and a LOC one at the end."""
    X = [t.split() for t in sentences.text if len(t.split()) >= 5]
    iob2 = [["B-PER", "I-PER"] + ["O"] * (len(w) - 4) + ["B-LOC", "I-LOC"] for w in X]
    for tags in iob2[::3]:
        tags[1] = "O"  # single-word entities too
    return X, [from_iob2(t, scheme) for t in iob2]


@pytest.mark.parametrize("scheme", ["IOB1", "IOB2", "BIOES"])
def test_exported_tagger_predicts_the_same_in_transformers(
    scheme, sentences, hf_tagger, tmp_path
):
    """IOB1 and BIOES from scratch (a cased vocabulary); IOB2 is (a)'s tagger."""
    from albert_sk import AlbertTagger

    X, y = tagging_data(sentences, scheme)
    if scheme == "IOB2":
        tagger = hf_tagger[0]
    else:
        tagger = AlbertTagger(
            **TINY_FIT, scheme=scheme, transitions="counted", random_state=0
        ).fit(X, y)
    model, tok = load_exported(
        tagger, tmp_path / scheme, "AutoModelForTokenClassification"
    )
    id2label = model.config.id2label
    # BIOES is learned as written and exported with IOB2 names, which
    # transformers' pipelines group into entities.
    names = [to_iob2([t], tagger.tag_scheme_)[0] for t in tagger.labels_]
    assert [id2label[i] for i in range(len(id2label))] == names
    probs = own_proba(tagger, X)
    predicted = tagger.predict(X)
    for words, ours, tags in zip(X, probs, predicted, strict=True):
        encoding, first = first_pieces(tok, words)
        with torch.no_grad():
            ids = torch.as_tensor([encoding["input_ids"]])
            logits = as_numpy(model(input_ids=ids).logits)[0, first]
        theirs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
        # transformers has the model, not transitions_: decoding its
        # probabilities with them gives predict's tags.
        path = viterbi(theirs, [len(words)], tagger.transitions_)
        decoded = tagger.labels_[path].tolist()
        assert from_iob2(to_iob2(decoded, tagger.tag_scheme_), scheme) == tags


# Research data without a license to redistribute: not bundled in tests/data/.
RESUME = DATA / "zh" / "resume_ner"


@pytest.mark.skipif(not RESUME.is_dir(), reason="shared Chinese data absent")
def test_exported_bmes_tagger_reads_right_in_the_token_classification_pipeline(
    tmp_path,
):
    """Resume NER's own BMES tags; raw Chinese text through transformers'
    pipeline, which reads the exported IOB2 names into entities."""
    from albert_sk import AlbertTagger
    from albert_sk.align import get_entities
    from albert_sk.io import read_bmes

    X, y = (part[:300] for part in read_bmes(RESUME / "train.char.bmes"))
    tagger = AlbertTagger(
        backbone="tiny",
        scheme="BMES",
        transitions="counted",  # for transformers, as export_hf advises
        vocab_size=1500,
        max_length=96,
        epochs=4,
        learning_rate=3e-3,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VocabularyWarning)
        tagger.fit(X, y)
    model, tok = load_exported(
        tagger, tmp_path / "bmes", "AutoModelForTokenClassification"
    )
    dev, _ = read_bmes(RESUME / "dev.char.bmes")
    texts = ["".join(words) for words in dev[:40] if len(words) <= 90]
    # one token per ideograph, as albert_sk encodes them
    tokens = tok(texts[0])["input_ids"]
    assert len(tokens) <= len(texts[0]) + 3  # [CLS], a leading "▁" at most, [SEP]
    pipe = transformers.pipeline(
        "token-classification",
        model=model,
        tokenizer=tok,
        aggregation_strategy="simple",
    )
    names = {"B": "B", "M": "I", "E": "I", "S": "B"}
    agree = 0
    for text, found in zip(texts, pipe(texts), strict=True):
        theirs = {(e["entity_group"], e["start"], e["end"]) for e in found}
        probs = own_proba(tagger, [list(text)])[0]
        argmax = [
            t if t == "O" else f"{names[t[0]]}-{t[2:]}"
            for t in tagger.labels_[probs.argmax(axis=1)]
        ]
        ours = {(k, s, e) for k, s, e in get_entities(repair_iob2(argmax))}
        agree += theirs == ours
    # The pipeline reads the model's argmax (no transitions): its entities
    # are those of albert_sk's argmax, character for character.
    assert agree >= 0.9 * len(texts)


def test_exported_qa_predicts_the_same_in_transformers(sentences, hf_qa, tmp_path):
    """(a)'s AlbertQA, exported back, on other questions."""
    qa = hf_qa[0]
    people = "Ann Bob Cleo Dmitri Eve Farid Greta Hugo Ines Jon".split() * 2
    cities = "Paris Lima Oslo Kyoto Cairo Quito Perth Bern Dakar Hanoi".split() * 2
    X = [
        {"question": f"Where was {p} born?", "context": f"{p} was born in {c}. {t}"}
        for p, c, t in zip(people, cities, sentences.text, strict=False)
    ]
    model, tok = load_exported(qa, tmp_path / "qa", "AutoModelForQuestionAnswering")
    for example, found in zip(X, qa.predict_spans(X), strict=True):
        encoding = tok(
            example["question"], example["context"], return_offsets_mapping=True
        )
        with torch.no_grad():
            out = model(
                input_ids=torch.as_tensor([encoding["input_ids"]]),
                token_type_ids=torch.as_tensor([encoding["token_type_ids"]]),
            )
        start, end, score = best_span(
            example["context"], encoding, out, qa.max_answer_length
        )
        assert (found[0]["start"], found[0]["end"]) == (start, end)
        assert found[0]["score"] == pytest.approx(score, abs=1e-4)


# === (c) BERT checkpoints, loaded as ALBERTs without cross-layer sharing ===

BERT_TINY = dict(
    hidden_size=16,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=64,
    hidden_dropout_prob=0.0,
    attention_probs_dropout_prob=0.0,
    classifier_dropout=0.0,
    initializer_range=0.1,
    hidden_act="gelu_new",
)
BERT_TEXTS = AWKWARD + [
    "Unbelievably good acting, terrible plot.",
    "Q: who?  A: nobody",
]


@pytest.fixture(scope="module")
def bert_tokenizer(tmp_path_factory, sentiment):
    """An uncased WordPiece ``tokenizer.json`` (about 100 pieces) trained with the
    ``tokenizers`` library, read by ``BertTokenizerFast``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordPieceTrainer(vocab_size=100, special_tokens=special)
    tok.train_from_iterator(sentiment.text.tolist()[:1000], trainer)
    path = tmp_path_factory.mktemp("bert_tok") / "tokenizer.json"
    tok.save(str(path))
    return transformers.BertTokenizerFast(tokenizer_file=str(path))


def bert_checkpoint(path, model, hf_tok):
    """``save_pretrained`` of both, with ``tokenizer.json`` and no ``vocab.txt``
    (what current hub uploads hold; transformers 4 also writes a vocab.txt)."""
    model.save_pretrained(str(path))
    hf_tok.save_pretrained(str(path))
    if (path / "vocab.txt").exists():
        (path / "vocab.txt").unlink()
    assert (path / "tokenizer.json").is_file()
    return path


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory, bert_tokenizer):
    config = transformers.BertConfig(vocab_size=len(bert_tokenizer), **BERT_TINY)
    torch.manual_seed(6)
    model = randomise(transformers.BertModel(config), 6)
    path = bert_checkpoint(tmp_path_factory.mktemp("bert"), model, bert_tokenizer)
    return path, model


def test_bert_token_ids_and_offsets_are_those_of_bert_tokenizer_fast(
    bert_dir, bert_tokenizer, tmp_path
):
    from albert_sk.wordpiece import WordPieceTokenizer

    path, _ = bert_dir
    hf_tok = transformers.AutoTokenizer.from_pretrained(str(path))
    _, tok = backbones.from_preset(path, dtype=None, max_length=64)
    assert isinstance(tok, WordPieceTokenizer) and tok.vocab_size == len(hf_tok)
    ours = tok.pack(tok.encode(BERT_TEXTS), max_length=64)
    theirs = hf_tok(BERT_TEXTS)["input_ids"]
    assert [ours.row(i).tolist() for i in range(len(BERT_TEXTS))] == theirs
    assert hf_tok.unk_token_id in theirs[4] and len(set(theirs[0])) > 10
    offsets = hf_tok(BERT_TEXTS, add_special_tokens=False, return_offsets_mapping=True)
    for (_, starts, ends), mapping in zip(
        tok.encode_with_offsets(BERT_TEXTS), offsets["offset_mapping"], strict=True
    ):
        assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == mapping
    a, b = BERT_TEXTS[:4], BERT_TEXTS[4:8]
    pairs = tok.pack(tok.encode(a), tok.encode(b), max_length=64)
    theirs = hf_tok(a, b, return_token_type_ids=True)
    for i in range(len(a)):
        start, n = pairs.starts[i], pairs.lengths[i]
        assert pairs.token_ids[start : start + n].tolist() == theirs["input_ids"][i]
        segments = pairs.segment_ids[start : start + n].tolist()
        assert segments == theirs["token_type_ids"][i]
    # The same vocabulary as a vocab.txt gives the same ids.
    legacy = tmp_path / "legacy"
    shutil.copytree(path, legacy)
    (legacy / "tokenizer.json").unlink()
    (legacy / "vocab.txt").write_bytes(tok.proto)
    _, again = backbones.from_preset(legacy, dtype=None, max_length=64)
    assert again.encode(BERT_TEXTS) == tok.encode(BERT_TEXTS)


def bert_batch(tok, texts):
    encoded = tok.pack(tok.encode(texts), max_length=64)
    return encoded.batch(np.arange(len(texts)), int(encoded.lengths.max()))


def test_bert_hidden_states_match_bert_model(bert_dir):
    from albert_sk import AlbertVectorizer

    path, model = bert_dir
    backbone, tok = backbones.from_preset(path, dtype=None, max_length=64)
    assert backbone.num_groups == backbone.num_layers == 2
    assert backbone.embedding_dim == backbone.hidden_dim == 16
    projection = backbone.embeddings_projection
    np.testing.assert_array_equal(np.asarray(projection.kernel), np.eye(16))
    batch = bert_batch(tok, BERT_TEXTS)
    ours = backbone.predict_on_batch(batch)
    with torch.no_grad():
        theirs = model(**hf_inputs(batch))
    mask = batch["padding_mask"].astype(bool)
    hidden = as_numpy(theirs.last_hidden_state)
    np.testing.assert_allclose(
        np.asarray(ours["sequence_output"])[mask], hidden[mask], atol=1e-5
    )
    np.testing.assert_allclose(
        ours["pooled_output"], as_numpy(theirs.pooler_output), atol=1e-5
    )
    assert np.abs(hidden).mean() > 0.1  # not trivial
    vec = AlbertVectorizer(preset=str(path), max_length=64, pooling="cls")
    np.testing.assert_allclose(
        vec.fit(BERT_TEXTS).transform(BERT_TEXTS),
        as_numpy(theirs.pooler_output),
        atol=1e-5,
    )


def test_exact_gelu_bert_warns_and_differs_little(bert_dir, bert_tokenizer, tmp_path):
    """BERT's own GELU is the exact erf form; keras-hub computes the tanh one."""
    from albert_sk.exceptions import ActivationWarning

    _, tanh_model = bert_dir
    config = transformers.BertConfig(
        vocab_size=len(bert_tokenizer), **dict(BERT_TINY, hidden_act="gelu")
    )
    model = transformers.BertModel(config).eval()
    model.load_state_dict(tanh_model.state_dict())
    path = bert_checkpoint(tmp_path / "gelu", model, bert_tokenizer)
    with pytest.warns(
        ActivationWarning, match="BERT checkpoint with hidden_act='gelu'"
    ):
        backbone, tok = backbones.from_preset(path, dtype=None, max_length=64)
    batch = bert_batch(tok, BERT_TEXTS)
    ours = np.asarray(backbone.predict_on_batch(batch)["sequence_output"])
    with torch.no_grad():
        theirs = as_numpy(model(**hf_inputs(batch)).last_hidden_state)
    mask = batch["padding_mask"].astype(bool)
    difference = np.abs(ours - theirs)[mask].max()
    # Measured 1e-4 here; all-MiniLM-L6-v2 (trained): 4e-3 (docs/portability.md).
    assert 1e-6 < difference < 1e-3


@pytest.fixture(scope="module")
def bert_classifier(tmp_path_factory, bert_tokenizer, sentiment):
    """An AlbertClassifier fitted from a BertForSequenceClassification."""
    from albert_sk import AlbertClassifier

    names = {0: "neg", 1: "pos"}
    config = transformers.BertConfig(
        vocab_size=len(bert_tokenizer),
        num_labels=2,
        id2label=names,
        label2id={v: k for k, v in names.items()},
        **BERT_TINY,
    )
    torch.manual_seed(7)
    model = randomise(transformers.BertForSequenceClassification(config), 7)
    path = bert_checkpoint(tmp_path_factory.mktemp("bert_clf"), model, bert_tokenizer)
    texts = [t for t in sentiment.text if len(t) < 40][:6] + BERT_TEXTS
    labels = [names[i % 2] for i in range(len(texts))]
    clf = fit_quietly(AlbertClassifier(preset=str(path), max_length=64), texts, labels)
    return clf, model, path, texts


def test_bert_classifier_predicts_what_transformers_does(bert_classifier):
    clf, model, path, texts = bert_classifier
    hf_tok = transformers.AutoTokenizer.from_pretrained(str(path))
    with torch.no_grad():
        batch = hf_tok(texts, padding=True, return_tensors="pt")
        logits = as_numpy(model(**batch).logits)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(texts), proba, atol=1e-5)
    assert clf.classes_.tolist() == ["neg", "pos"]


def test_exported_bert_classifier_loads_in_transformers_as_an_albert(
    bert_classifier, tmp_path
):
    from albert_sk.efficiency import find_backbone

    clf, _, _, texts = bert_classifier
    model, tok = load_exported(
        clf, tmp_path / "out", "AutoModelForSequenceClassification"
    )
    assert type(model).__name__ == "AlbertForSequenceClassification"
    config = model.config
    assert config.num_hidden_groups == config.num_hidden_layers == 2
    assert config.embedding_size == config.hidden_size == 16
    with torch.no_grad():
        batch = tok(texts, padding=True, return_tensors="pt")
        logits = as_numpy(model(**batch).logits).astype(np.float64)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(texts), proba, atol=1e-5)
    assert [config.id2label[i] for i in logits.argmax(1)] == clf.predict(texts).tolist()
    # ... and back into albert_sk, as the ALBERT it now is.
    backbone, again = backbones.from_preset(tmp_path / "out", dtype=None, max_length=64)
    assert again.encode(texts) == clf.tokenizer_.encode(texts)
    batch = bert_batch(again, texts)
    ours = find_backbone(clf.model_).predict_on_batch(batch)["pooled_output"]
    theirs = backbone.predict_on_batch(batch)["pooled_output"]
    np.testing.assert_allclose(theirs, ours, atol=1e-5)


def test_bert_token_classifier_without_pooler_loads_into_the_tagger(
    tmp_path, bert_tokenizer
):
    from albert_sk import AlbertTagger

    names = {0: "O", 1: "B-PER", 2: "I-PER"}
    config = transformers.BertConfig(
        vocab_size=len(bert_tokenizer),
        num_labels=3,
        id2label=names,
        label2id={v: k for k, v in names.items()},
        **BERT_TINY,
    )
    torch.manual_seed(8)
    model = randomise(transformers.BertForTokenClassification(config), 8)
    path = bert_checkpoint(tmp_path / "ner", model, bert_tokenizer)
    X = [["Ada", "Lovelace", "wrote", "code"], ["Bob", "Smith", "was", "good"]]
    y = [["B-PER", "I-PER", "O", "O"]] * 2
    tagger = fit_quietly(AlbertTagger(preset=str(path), max_length=64), X, y)
    hf_tok = transformers.AutoTokenizer.from_pretrained(str(path))
    for words, ours in zip(X, own_proba(tagger, X), strict=True):
        encoding = hf_tok(words, is_split_into_words=True)
        first = [encoding.word_to_tokens(i).start for i in range(len(words))]
        with torch.no_grad():
            ids = torch.as_tensor([encoding["input_ids"]])
            logits = as_numpy(model(input_ids=ids).logits)[0, first]
        theirs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        order = [config.label2id[t] for t in tagger.labels_]
        np.testing.assert_allclose(ours, theirs[:, order], atol=1e-5)
