"""Chinese ALBERT checkpoints as published: a WordPiece ``vocab.txt``, no
``spiece.model``.

Checkpoints are written by ``transformers`` (random weights, a tiny
``AlbertConfig``, a ``vocab.txt`` of the characters of TNEWS titles plus a
few Latin pieces, saved with ``BertTokenizer``) and checked against
``transformers`` itself: token ids against ``BertTokenizer``, hidden states
against ``AlbertModel``; the vectorizer, classifier, tagger and QA load them
with ``preset=dir`` (the regressor encodes as the classifier does), a model
file and a pickle keep the ``vocab.txt``, and ``export_hf`` writes it back in
the same form. A checkpoint with only a WordPiece ``tokenizer.json`` (most
current hub uploads) gives the same tokenizer.
"""

import json
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from _data import DATA
from _hf import hf_inputs  # noqa: E402

transformers = pytest.importorskip(
    "transformers", reason="transformers is not installed: pip install 'albert-sk[hf]'"
)
torch = pytest.importorskip("torch", reason="torch is not installed")

from albert_sk import (  # noqa: E402
    AlbertClassifier,
    AlbertQA,
    AlbertTagger,
    AlbertVectorizer,
    backbones,
    export_hf,
    load,
)
from albert_sk.exceptions import InputError  # noqa: E402
from albert_sk.wordpiece import WordPieceTokenizer  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TNEWS = DATA / "zh" / "tnews"
FALLBACK = ["北京大学的学生在上海工作。", "今天天气很好，我们去公园吧！"]
AWKWARD = [
    "我在ＡＢＣ公司用Python工作了3.5年，《红楼梦》很好看！",
    "Café Müller 在北京 İstanbul",
    "emoji 😀 和全角字符：１２３、ｘｙｚ",
    "  前后有空格\t和制表符\n换行  ",
    "生僻字𠀀和兼容汉字豈",
    "unbelievable running 中文",
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


def titles(n=1500):
    path = TNEWS / "train.tsv"
    if not path.is_file():
        return FALLBACK * 20
    lines = path.read_text(encoding="utf-8").splitlines()[:n]
    return [line.rsplit("\t", 1)[0] for line in lines]


@pytest.fixture(scope="module")
def vocab_dir(tmp_path_factory):
    """A vocab.txt of TNEWS characters, saved by transformers' BertTokenizer."""
    path = tmp_path_factory.mktemp("wordpiece")
    chars = sorted({c for t in titles() + FALLBACK for c in t.lower() if c.strip()})
    latin = ["python", "run", "##ning", "un", "##bel", "##ie", "##va", "##ble"]
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens = special + latin + [c for c in chars if c not in latin]
    (path / "vocab.txt").write_text("\n".join(tokens) + "\n", encoding="utf-8")
    hf_tok = transformers.BertTokenizer(str(path / "vocab.txt"), do_lower_case=True)
    hf_tok.save_pretrained(str(path))
    return path, hf_tok


def randomise(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "LayerNorm.weight" in name:
                param.copy_(1 + 0.3 * torch.randn(param.shape, generator=generator))
            elif name.endswith("bias"):
                param.copy_(0.2 * torch.randn(param.shape, generator=generator))
    return model.eval()


def checkpoint(path, model, vocab_dir):
    """``save_pretrained`` of model and tokenizer, plus the ``vocab.txt`` that
    published checkpoints hold (transformers 5 writes only tokenizer.json)."""
    source, hf_tok = vocab_dir
    model.save_pretrained(str(path))
    hf_tok.save_pretrained(str(path))
    if not (path / "vocab.txt").exists():
        shutil.copy(source / "vocab.txt", path / "vocab.txt")
    assert (path / "vocab.txt").is_file() and not (path / "spiece.model").exists()
    return path


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory, vocab_dir):
    _, hf_tok = vocab_dir
    config = transformers.AlbertConfig(vocab_size=len(hf_tok), **TINY)
    torch.manual_seed(0)
    model = randomise(transformers.AlbertModel(config), 0)
    return checkpoint(tmp_path_factory.mktemp("albert_zh"), model, vocab_dir), model


# === The tokenizer ===


def test_token_ids_are_those_of_bert_tokenizer(base_dir, vocab_dir):
    path, _ = base_dir
    _, hf_tok = vocab_dir
    _, tok = backbones.from_preset(path, dtype=None, max_length=64)
    assert isinstance(tok, WordPieceTokenizer) and tok.vocab_size == len(hf_tok)
    texts = AWKWARD + titles(40)
    ours = tok.pack(tok.encode(texts), max_length=64)
    theirs = hf_tok(texts, truncation=True, max_length=64)["input_ids"]
    assert [ours.row(i).tolist() for i in range(len(texts))] == theirs
    assert hf_tok.unk_token_id in theirs[2] and len(set(theirs[0])) > 10
    a, b = AWKWARD[:3], AWKWARD[3:]
    pairs = tok.pack(tok.encode(a), tok.encode(b), max_length=64)
    theirs = hf_tok(a, b, return_token_type_ids=True)
    for i in range(len(a)):
        start, n = pairs.starts[i], pairs.lengths[i]
        assert pairs.token_ids[start : start + n].tolist() == theirs["input_ids"][i]
        assert (
            pairs.segment_ids[start : start + n].tolist()
            == (theirs["token_type_ids"][i])
        )


def test_offsets_are_exact_slices_of_the_original_text(base_dir):
    _, tok = backbones.from_preset(base_dir[0], dtype=None, max_length=64)
    for text, (ids, starts, ends) in zip(
        AWKWARD, tok.encode_with_offsets(AWKWARD), strict=True
    ):
        assert len(ids) == len(starts) == len(ends)
        assert (starts < ends).all() and (starts[1:] >= ends[:-1]).all()
        for piece, s, e in zip(tok.id_to_piece(ids), starts, ends, strict=True):
            assert text[s:e].strip() == text[s:e]
            if piece not in ("[UNK]",) and not piece.startswith("##"):
                assert len(text[s:e]) == len(piece) or text[s:e].lower() != piece
    ids, starts, ends = tok.encode_with_offsets(["生僻字𠀀和"])[0]
    assert starts.tolist() == [0, 1, 2, 3, 4]  # astral ideograph: one char


def test_pickles_and_refuses_a_vocabulary_without_special_tokens(base_dir):
    _, tok = backbones.from_preset(base_dir[0], dtype=None, max_length=64)
    again = pickle.loads(pickle.dumps(tok))
    assert again.encode(AWKWARD) == tok.encode(AWKWARD)
    with pytest.raises(InputError, match=r"lacks the special tokens \['\[PAD\]'"):
        WordPieceTokenizer(b"a\nb\n")


def wordpiece_json(vocab_txt, path, lowercase=True):
    """``tokenizer.json`` of the ``tokenizers`` library for a ``vocab.txt``, as
    ``BertTokenizerFast`` writes it."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    tok = Tokenizer(models.WordPiece.from_file(str(vocab_txt), unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.save(str(path))
    return path


@pytest.mark.parametrize("lowercase", [True, False])
def test_tokenizer_json_alone_gives_the_same_tokenizer(base_dir, tmp_path, lowercase):
    path, _ = base_dir
    only_json = tmp_path / "json"
    shutil.copytree(path, only_json)
    (only_json / "vocab.txt").unlink()
    (only_json / "tokenizer_config.json").unlink()  # tokenizer.json says it all
    wordpiece_json(path / "vocab.txt", only_json / "tokenizer.json", lowercase)
    _, tok = backbones.from_preset(only_json, dtype=None, max_length=64)
    assert isinstance(tok, WordPieceTokenizer)
    assert tok.proto == (path / "vocab.txt").read_bytes()
    assert (tok.lowercase, tok.strip_accents) == (lowercase, lowercase)
    hf_tok = transformers.BertTokenizerFast(
        tokenizer_file=str(only_json / "tokenizer.json"), do_lower_case=lowercase
    )
    texts = AWKWARD + titles(20)
    ours = tok.pack(tok.encode(texts), max_length=64)
    theirs = hf_tok(texts, truncation=True, max_length=64)["input_ids"]
    assert [ours.row(i).tolist() for i in range(len(texts))] == theirs
    mapping = hf_tok(texts, add_special_tokens=False, return_offsets_mapping=True)
    for (_, starts, ends), expected in zip(
        tok.encode_with_offsets(texts), mapping["offset_mapping"], strict=True
    ):
        assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == expected
    if lowercase:  # a tokenizer.json that says uncased is read as the vocab.txt
        _, legacy = backbones.from_preset(path, dtype=None, max_length=64)
        assert tok.encode(texts) == legacy.encode(texts)
    # tokenizer_config.json's do_lower_case overrides the normaliser, as
    # transformers' BertTokenizer applies it.
    config = {"tokenizer_class": "BertTokenizer", "do_lower_case": not lowercase}
    (only_json / "tokenizer_config.json").write_text(json.dumps(config))
    _, tok = backbones.from_preset(only_json, dtype=None, max_length=64)
    assert (tok.lowercase, tok.strip_accents) == (not lowercase, not lowercase)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        hf_tok = transformers.AutoTokenizer.from_pretrained(str(only_json))
    theirs = hf_tok(texts, add_special_tokens=False)["input_ids"]
    assert tok.encode(texts) == theirs


def test_tokenizer_json_that_wordpiece_does_not_reproduce_is_refused(base_dir):
    from albert_sk.wordpiece import read_tokenizer_json, wordpiece_file

    path, _ = base_dir
    data = json.loads(
        wordpiece_json(path / "vocab.txt", path.parent / "t.json").read_text()
    )
    assert read_tokenizer_json(data)[0] == (path / "vocab.txt").read_bytes()
    lower = dict(data, normalizer={"type": "Lowercase"})
    with pytest.raises(
        InputError,
        match=r"expected BERT's WordPiece .*'normalizer': "
        r"'Lowercase'.*Add the checkpoint's vocab\.txt",
    ):
        read_tokenizer_json(lower)
    gap = json.loads(json.dumps(data))
    gap["model"]["vocab"]["[UNK]"] = 10**6
    with pytest.raises(InputError, match="expected each id from 0 to"):
        read_tokenizer_json(gap)
    extra = dict(data, added_tokens=[{"id": 10**6, "content": "<new>"}])
    with pytest.raises(InputError, match=r"added tokens outside .*\('<new>'"):
        read_tokenizer_json(extra)
    assert wordpiece_file(path) == "vocab.txt"


# === The backbone ===


def test_hidden_states_match_albert_model(base_dir):
    path, model = base_dir
    backbone, tok = backbones.from_preset(path, dtype=None, max_length=64)
    encoded = tok.pack(tok.encode(AWKWARD), max_length=64)
    batch = encoded.batch(np.arange(len(AWKWARD)), int(encoded.lengths.max()))
    ours = backbone.predict_on_batch(batch)
    with torch.no_grad():
        theirs = model(**hf_inputs(batch))
    mask = batch["padding_mask"].astype(bool)
    hidden = theirs.last_hidden_state.numpy()
    np.testing.assert_allclose(
        np.asarray(ours["sequence_output"])[mask], hidden[mask], atol=1e-4
    )
    assert np.abs(hidden).mean() > 0.1
    vec = AlbertVectorizer(preset=str(path), max_length=64, pooling="cls")
    np.testing.assert_allclose(
        vec.fit(AWKWARD).transform(AWKWARD), theirs.pooler_output.numpy(), atol=1e-4
    )


# === Every estimator ===


def quiet_fit(estimator, X, y=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # heads trained from scratch
        return estimator.set_params(epochs=1, dropout=0.0).fit(X, y)


@pytest.fixture(scope="module")
def classifier(base_dir):
    texts = AWKWARD + titles(18)
    labels = [["体育", "财经", "科技"][i % 3] for i in range(len(texts))]
    clf = AlbertClassifier(preset=str(base_dir[0]), max_length=64, random_state=0)
    return quiet_fit(clf, texts, labels), texts, labels


def test_classifier_saves_loads_and_pickles_with_vocab_txt(classifier, tmp_path):
    import zipfile

    clf, texts, _ = classifier
    path = clf.save(tmp_path / "zh.albert")
    assert sorted(zipfile.ZipFile(path).namelist()) == [
        "albert_sk.json",
        "model.keras",
        "vocab.txt",
    ]
    expected = clf.predict_proba(texts)
    for other in (load(path), pickle.loads(pickle.dumps(clf))):
        assert isinstance(other.tokenizer_, WordPieceTokenizer)
        np.testing.assert_allclose(other.predict_proba(texts), expected, atol=1e-6)


def test_export_hf_writes_the_same_form_and_transformers_agrees(classifier, tmp_path):
    clf, texts, labels = classifier
    out = Path(export_hf(clf, tmp_path / "hf"))
    assert (out / "vocab.txt").is_file() and not (out / "spiece.model").exists()
    hf_tok = transformers.AutoTokenizer.from_pretrained(str(out))
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(out))
    encoded = hf_tok(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model.eval()(**encoded).logits.numpy()
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    order = [model.config.label2id[c] for c in clf.classes_]
    np.testing.assert_allclose(probs[:, order], clf.predict_proba(texts), atol=1e-4)
    again = AlbertClassifier(preset=str(out), max_length=64, learning_rate=1e-12)
    again = quiet_fit(again, texts, labels)
    np.testing.assert_allclose(
        again.predict_proba(texts), clf.predict_proba(texts), atol=1e-4
    )


def test_tagger_and_qa_load_the_checkpoint(base_dir):
    # (the regressor encodes as the classifier does; the vectorizer is above)
    path = str(base_dir[0])
    sentences = ["张三去了北京。", "李四在上海工作，很开心！"] * 4
    spans = [[(0, 2, "PER"), (4, 6, "LOC")], [(0, 2, "PER"), (3, 5, "LOC")]] * 4
    tagger = quiet_fit(AlbertTagger(preset=path, max_length=32), sentences, spans)
    raw = ["王五到了ＮＹＣ和北京。", "Café 在 İstanbul"]
    words = tagger._check_X(raw, reset=False).sentences
    assert [len(t) for t in tagger.predict(raw)] == [len(w) for w in words]
    for text, found in zip(raw, tagger.predict_entities(raw), strict=True):
        for e in found:
            assert text[e["start"] : e["end"]] == e["text"]

    context = "《泡泡堂》由韩国Nexon开发与发行，中国大陆由盛大游戏运营。"
    X = [{"question": "谁开发了游戏？", "context": context}] * 4
    y = [{"text": "Nexon", "answer_start": context.index("Nexon")}] * 4
    qa = quiet_fit(AlbertQA(preset=path, max_length=64, max_query_length=16), X, y)
    for answer in qa.predict_spans(X[:1])[0]:
        assert context[answer["start"] : answer["end"]] == answer["answer"]


def test_a_wordpiece_model_has_no_keras_hub_preset_form(base_dir):
    from albert_sk.wordpiece import WordPieceTokenizer as WP

    backbone, tok = backbones.from_preset(base_dir[0], dtype=None, max_length=64)
    assert isinstance(tok, WP)
    with pytest.raises(InputError, match="export_hf"):
        backbones.save_preset(backbone, tok, base_dir[0].parent / "preset")
