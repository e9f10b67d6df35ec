"""Chinese text end to end: words, readers of the shared Chinese data, BMES,
CJK answer F1, and a tagger fitted on raw Chinese sentences."""

import random
import warnings

import pytest
from _data import DATA

from albert_sk import AlbertTagger
from albert_sk.align import (
    CJK_PATTERN,
    from_iob2,
    get_entities,
    memorised_tags,
    spans_to_tags,
    split_words,
    to_iob2,
)
from albert_sk.exceptions import InputError, VocabularyWarning
from albert_sk.io import read_bmes, read_cluener, read_weibo_ner
from albert_sk.metrics import answer_f1, entity_f1_score, squad_exact_match
from tests._marks import API_FITS

# Research data without a license to redistribute: not bundled in tests/data/.
ZH = DATA / "zh"
needs_data = pytest.mark.skipif(not ZH.is_dir(), reason="shared Chinese data absent")


# === Words ===


def test_every_ideograph_is_a_word_latin_and_numbers_stay_whole():
    text = "我在ＡＢＣ公司用Python工作了3.5年，《红楼梦》𠀀"
    words, starts, ends = split_words(text)
    assert words == [
        "我", "在", "ＡＢＣ", "公", "司", "用", "Python", "工", "作", "了",
        "3", ".", "5", "年", "，", "《", "红", "楼", "梦", "》", "𠀀",
    ]  # fmt: skip
    assert [text[s:e] for s, e in zip(starts, ends, strict=True)] == words


def test_spans_on_chinese_text_cover_whole_characters():
    text = "张三去了北京。"
    words, tags, starts, ends = spans_to_tags(text, [(0, 2, "PER"), (4, 6, "LOC")])
    assert tags == ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC", "O"]


def test_answer_f1_counts_chinese_characters():
    assert answer_f1("北京大学", "北京") == pytest.approx(2 / 3)
    assert answer_f1("踢爆。", "踢爆") == 1.0  # CJK punctuation dropped
    assert squad_exact_match([["《泡泡堂》"]], ["泡泡堂"]) == 1.0


# === Tag schemes ===


def test_bmes_round_trips_through_iob2():
    bmes = ["B-ORG", "M-ORG", "M-ORG", "E-ORG", "O", "S-LOC", "B-PER", "E-PER"]
    iob2 = to_iob2(bmes, "BMES")
    assert iob2 == ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "B-LOC", "B-PER", "I-PER"]
    assert from_iob2(iob2, "BMES") == bmes
    assert entity_f1_score([bmes], [bmes], scheme="BMES") == 1.0
    with pytest.raises(InputError, match=r"'I-ORG', which is not a BMES tag"):
        entity_f1_score([["I-ORG"]], [["O"]], scheme="BMES")


# === Readers on the shared files ===


@needs_data
def test_read_weibo_ner_strips_the_segment_digit():
    sentences, tags = read_weibo_ner(ZH / "weibo_ner" / "weiboNER_2nd_conll.dev")
    assert len(sentences) == 270
    # one character each, bar emoji the published file holds as two U+FFFD
    assert {w for s in sentences for w in s if len(w) != 1} == {"\ufffd\ufffd"}
    raw = (ZH / "weibo_ner" / "weiboNER_2nd_conll.dev").read_text(encoding="utf-8")
    first = [line.split("\t")[0] for line in raw.split("\n\n")[0].splitlines()]
    assert sentences[0] == [token.rstrip("0123456789") for token in first]
    assert {t for s in tags for t in s} >= {"O", "B-PER.NAM", "I-PER.NAM"}


@needs_data
def test_read_bmes_reads_resume_ner():
    sentences, tags = read_bmes(ZH / "resume_ner" / "dev.char.bmes")
    assert len(sentences) == 463
    assert "".join(sentences[0]).startswith("吴重阳，中国国籍")
    assert tags[0][:3] == ["B-NAME", "M-NAME", "E-NAME"]
    entities = get_entities(to_iob2(tags[0], "BMES"))
    assert ("NAME", 0, 3) in entities


@needs_data
def test_read_cluener_gives_exclusive_character_spans():
    texts, spans = read_cluener(ZH / "cluener2020" / "train.json")
    assert len(texts) == 10748
    assert spans[0] == [(0, 4, "company"), (9, 12, "name"), (32, 35, "name")]
    assert texts[0][9:12] == "叶老桂"
    for text, row in zip(texts[:500], spans[:500], strict=True):
        for s, e, _ in row:
            assert 0 <= s < e <= len(text)


def test_reader_errors_name_the_line(tmp_path):
    weibo = tmp_path / "weibo.conll"
    weibo.write_text("中0\tO\n国\tO\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"Sentence 0 word 1 .* is '国', not a"):
        read_weibo_ner(weibo)
    bmes = tmp_path / "x.bmes"
    bmes.write_text("中 B-LOC\n国 I-LOC\n", encoding="utf-8")
    with pytest.raises(InputError, match="word 1 .* has tag 'I-LOC', not a BMES"):
        read_bmes(bmes)
    clue = tmp_path / "x.json"
    clue.write_text('{"text": "北京", "label": {"address": {"北京": [[0, 0]]}}}\n')
    with pytest.raises(InputError, match=r"Line 1 .*\[0, 0\] is '北', not the"):
        read_cluener(clue)


def test_a_vocabulary_too_small_for_the_characters_says_how_large():
    from albert_sk.text import train_sentencepiece

    texts = [
        "".join(chr(0x4E00 + (7 * i + j) % 400) for j in range(30)) for i in range(60)
    ]
    with pytest.raises(InputError, match=r"vocab_size=100 is too small .* at least"):
        train_sentencepiece(texts, 100)


# === A tagger fitted on raw Chinese sentences ===

NAMES = ["张三", "李小龙", "王芳", "欧阳修", "马丽"]
CITIES = ["北京", "上海", "纽约", "ＮＹＣ", "𠀀门"]
VERBS = ["去了", "住在", "喜欢", "离开了"]
TAILS = ["。", "！", "，很开心。", "2019年。", "", "和朋友们。", "看望父母。", "过。"]


def chinese_synthetic(n, seed=0):
    rng = random.Random(seed)
    texts, spans = [], []
    for _ in range(n):
        name, verb, city = rng.choice(NAMES), rng.choice(VERBS), rng.choice(CITIES)
        lead = rng.choice(["", "今天", "Ada说"])
        text = lead + name + verb + city + rng.choice(TAILS)
        s = len(lead)
        c = s + len(name) + len(verb)
        texts.append(text)
        spans.append([(s, s + len(name), "PER"), (c, c + len(city), "LOC")])
    return texts, spans


@pytest.fixture(scope="module")
def tagger():
    tagger = AlbertTagger(
        backbone="tiny",
        vocab_size=64,
        max_length=32,
        epochs=10,
        batch_size=8,
        learning_rate=4e-3,
        random_state=0,
    )
    return tagger.fit(*chinese_synthetic(120))


@API_FITS
def test_predict_entities_on_raw_chinese_has_exact_offsets(tagger):
    texts, spans = chinese_synthetic(30, seed=5)
    result = tagger.predict_entities(texts)
    found = [[(e["start"], e["end"], e["label"]) for e in r] for r in result]
    hits = sum(len(set(f) & set(g)) for f, g in zip(found, spans, strict=True))
    assert hits / sum(map(len, spans)) > 0.8
    for text, records in zip(texts, result, strict=True):
        for e in records:
            assert text[e["start"] : e["end"]] == e["text"]
    # one tag per character, full-width and astral characters included
    lengths = [len(split_words(t)[0]) for t in texts]
    assert [len(t) for t in tagger.predict(texts)] == lengths
    assert tagger.score(texts, spans) > 0.8


# === A tagger fitted on Resume NER's own BMES tags ===


@pytest.fixture(scope="module")
def resume():
    train = read_bmes(ZH / "resume_ner" / "train.char.bmes")
    dev = read_bmes(ZH / "resume_ner" / "dev.char.bmes")
    return [part[:400] for part in train], [part[:150] for part in dev]


@pytest.fixture(scope="module")
def bmes_tagger(resume):
    (X, y), _ = resume
    tagger = AlbertTagger(
        backbone="tiny",
        scheme="BMES",
        vocab_size=2000,
        max_length=64,
        epochs=6,
        learning_rate=3e-3,
        random_state=0,
    )
    with warnings.catch_warnings():  # 400 sentences hold fewer than 2,000 pieces
        warnings.simplefilter("ignore", VocabularyWarning)
        return tagger.fit(X, y)


@needs_data
@API_FITS
def test_bmes_is_learned_as_written_and_decoded_to_valid_sequences(bmes_tagger, resume):
    _, (X_dev, y_dev) = resume
    assert bmes_tagger.tag_scheme_ == "BMES"
    prefixes = {t[0] for t in bmes_tagger.labels_}
    assert prefixes == {"B", "M", "E", "S", "O"}  # where entities end is learned
    pred = bmes_tagger.predict(X_dev)
    assert [len(p) for p in pred] == [len(x) for x in X_dev]
    for tags in pred:  # valid BMES: reading the entities back gives the same tags
        assert from_iob2(to_iob2(tags, "BMES"), "BMES") == tags
    baseline = entity_f1_score(
        [to_iob2(t, "BMES") for t in y_dev],
        memorised_tags(resume[0][0], [to_iob2(t, "BMES") for t in resume[0][1]], X_dev),
    )
    f1 = bmes_tagger.score(X_dev, y_dev)
    print(f"Resume dev entity F1: tagger {f1:.3f}, memorised tags {baseline:.3f}")
    assert f1 > baseline + 0.1


@needs_data
@API_FITS
def test_an_ideograph_costs_one_piece(bmes_tagger, resume):
    _, (X_dev, _) = resume
    cjk = [[w for w in x if CJK_PATTERN.fullmatch(w)] for x in X_dev[:50]]
    # one window each: [CLS], one piece per character, [SEP], so a window
    # holds max_length - 2 characters, not half as many; the first character
    # may follow a bare "▁", as in a Hugging Face tokenizer's pieces of the
    # unspaced sentence
    cjk = [x for x in cjk if 0 < len(x) <= bmes_tagger.max_length - 3]
    encoded = bmes_tagger._encode(bmes_tagger._check_X(cjk, reset=False))
    bare = (
        encoded.token_ids[encoded.starts + 1] == bmes_tagger.tokenizer_.word_boundary_id
    )
    assert encoded.lengths.tolist() == [
        len(x) + 2 + b for x, b in zip(cjk, bare, strict=True)
    ]
