"""``AlbertClassifier.export_serving``: a SavedModel that takes raw strings.

The SavedModels are loaded in a fresh Python process that imports only
TensorFlow and ``tensorflow_text`` (not albert_sk), and must give the
probabilities ``predict_proba`` gives, on awkward texts.
"""

import json
import os
import subprocess
import sys
import unicodedata
import warnings

import numpy as np
import pytest
from _marks import API_FITS

from albert_sk import AlbertClassifier
from albert_sk.exceptions import NotFittedError, TruncationWarning
from albert_sk.text import normalize as python_normalize

pytestmark = API_FITS
tf = pytest.importorskip("tensorflow")
pytest.importorskip("tensorflow_text")

from albert_sk.export import savedmodel  # noqa: E402

MAX_LENGTH = 32
AWKWARD = [
    "Café au lait, naïve façade",
    "Ångström, Øresund, ﬁnal ｆｕｌｌｗｉｄｔｈ",
    "emoji 🎉🔥👍🏽 and 🇫🇷 flags",
    "MiXeD CaSe TEXT",
    "",
    "   ",
    "\t\n  tabs\tand\n\nnewlines  ",
    "``double'' quotes and 'single' ones",
    "e\u0301 combining, \u00a0no-break\u3000space",
    "ΣΟΦΊΑ and İstanbul, Straße",
    "日本語のテキスト、中文",
    "great film " * 40,  # longer than max_length: cut as predict cuts it
]
PAIRS = [
    ("a short one", "great film, great cast, great everything " * 3),
    ("great film " * 20, "ok"),
    ("Café crème " * 10, "naïve plot " * 10),
    ("", "only the second text"),
    ("🎉", ""),
]
LOADER = """
import json, sys
import tensorflow as tf
import tensorflow_text  # registers the SentencePiece ops
jobs = json.load(sys.stdin)
out = {}
for name, job in jobs.items():
    model = tf.saved_model.load(job["path"])
    args = [tf.constant(column) for column in job["inputs"]]
    counts = model.count_tokens(*args)
    out[name] = {
        "proba": model.serve(*args).numpy().tolist(),
        "n_tokens": counts["n_tokens"].numpy().tolist(),
        "truncated": counts["truncated"].numpy().tolist(),
    }
out["albert_sk_imported"] = "albert_sk" in sys.modules
json.dump(out, sys.stdout)
"""


def quiet_proba(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        return estimator.predict_proba(X)


@pytest.fixture(scope="module")
def fitted(sentiment_small):
    """A binary classifier on texts and a 3-class one on text pairs."""
    texts = sentiment_small.text.tolist()[:64]
    labels = sentiment_small.label.tolist()[:64]
    params = dict(
        backbone="tiny", vocab_size=200, max_length=MAX_LENGTH, epochs=1,
        batch_size=16, random_state=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        single = AlbertClassifier(**params).fit(texts, labels)
        pairs = [(a, b) for a, b in zip(texts[:48], texts[16:64], strict=True)]
        three = ["neg", "mid", "pos"] * 16
        pair = AlbertClassifier(**{**params, "max_length": 16}).fit(pairs, three)
    return single, pair


@pytest.fixture(scope="module")
def served(fitted, tmp_path_factory):
    """Both exports, run in a fresh process: ``{name: outputs}``."""
    single, pair = fitted
    folder = tmp_path_factory.mktemp("serving")
    jobs = {
        "single": {
            "path": single.export_serving(folder / "single"),
            "inputs": [AWKWARD],
        },
        "pair": {
            "path": pair.export_serving(folder / "pair"),
            "inputs": [[a for a, _ in PAIRS], [b for _, b in PAIRS]],
        },
    }
    done = subprocess.run(
        [sys.executable, "-c", LOADER],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout), folder


def test_the_savedmodel_gives_predict_proba_on_awkward_texts(fitted, served):
    single, _ = fitted
    outputs, _ = served
    expected = quiet_proba(single, AWKWARD)
    np.testing.assert_allclose(outputs["single"]["proba"], expected, atol=1e-5)
    assert not outputs["albert_sk_imported"]


def test_text_pairs_are_cut_as_predict_cuts_them(fitted, served):
    _, pair = fitted
    outputs, _ = served
    expected = quiet_proba(pair, PAIRS)
    np.testing.assert_allclose(outputs["pair"]["proba"], expected, atol=1e-5)
    assert outputs["pair"]["truncated"] == [True, True, True, False, False]


def test_count_tokens_names_the_texts_predict_warns_about(fitted, served):
    single, _ = fitted
    outputs, _ = served
    tok = single.tokenizer_
    n_tokens = [len(ids) + 2 for ids in tok.encode(AWKWARD)]
    assert outputs["single"]["n_tokens"] == n_tokens
    truncated = outputs["single"]["truncated"]
    assert truncated == [n > MAX_LENGTH for n in n_tokens]
    assert truncated[-1]
    with pytest.warns(TruncationWarning, match=f"{sum(truncated)} of"):
        single.predict_proba(AWKWARD)


def test_the_folder_says_what_the_columns_are(fitted, served):
    single, pair = fitted
    _, folder = served
    info = json.loads((folder / "pair" / savedmodel.INFO_FILE).read_text())
    assert info["classes"] == pair.classes_.tolist() == ["mid", "neg", "pos"]
    assert info["text_pairs"] and info["max_length"] == 16
    info = json.loads((folder / "single" / savedmodel.INFO_FILE).read_text())
    assert info["classes"] == single.classes_.tolist()
    assert (info["lowercase"], info["strip_accents"]) == (True, True)


def test_export_replaces_its_own_folder_and_refuses_others(fitted, tmp_path):
    single, _ = fitted
    target = tmp_path / "model"
    target.mkdir()
    (target / "saved_model.pb").write_bytes(b"an earlier export")
    (target / "stale.txt").write_text("from an earlier export")
    single.export_serving(target)
    assert not (target / "stale.txt").exists()
    assert (target / savedmodel.INFO_FILE).exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="saved_model.pb"):
        single.export_serving(other)
    assert (other / "notes.txt").read_text() == "mine"


def test_an_unfitted_classifier_cannot_be_exported(tmp_path):
    with pytest.raises(NotFittedError):
        AlbertClassifier().export_serving(tmp_path / "model")


# === The normalisation in the graph against albert_sk.text.normalize ===

# The scripts in common use: Latin, Greek, Cyrillic, Hebrew, Arabic,
# Devanagari, Thai, Latin/Greek extended, punctuation and symbols, CJK
# punctuation and kana, some CJK and Hangul, fullwidth forms, emoji.
BLOCKS = [
    (0x0000, 0x0250), (0x0370, 0x0530), (0x0590, 0x0700), (0x0900, 0x0980),
    (0x0E00, 0x0E80), (0x1E00, 0x2000), (0x2000, 0x2BFF), (0x3000, 0x3100),
    (0x4E00, 0x5000), (0xAC00, 0xAD00), (0xFB00, 0xFB50), (0xFF00, 0xFFF0),
    (0x1F300, 0x1FA00),
]  # fmt: skip


def graph_normalize(texts, **flags):
    out = savedmodel.normalize(tf.constant(texts), **flags).numpy()
    return [t.decode("utf-8") for t in out]


@pytest.mark.parametrize(
    "flags",
    [
        dict(lowercase=True, strip_accents=True),
        dict(lowercase=True, strip_accents=False),
        dict(lowercase=False, strip_accents=False),
    ],
    ids=["uncased", "lowercased-with-accents", "cased"],
)
def test_every_character_of_common_scripts_folds_as_in_python(flags):
    chars = [chr(c) for start, stop in BLOCKS for c in range(start, stop)]
    chars = [c for c in chars if unicodedata.category(c) != "Cs"]
    texts = [f"a{c}b" for c in chars]  # inside a text: the ends are stripped
    got = graph_normalize(texts, **flags)
    want = [python_normalize(t, **flags)[0] for t in texts]
    bad = [
        (hex(ord(c)), w, g) for c, w, g in zip(chars, want, got, strict=True) if w != g
    ]
    assert not bad, bad[:10]


def test_whitespace_quotes_and_marks_in_whole_texts_fold_as_in_python():
    texts = [
        *AWKWARD,
        *[f" {w}a{w}{w}b{w}" for w in savedmodel.WHITESPACE],
        "\x1c\x1d\x1e\x1f not whitespace to python",
        "```a''' ``''",
        "a\u0301\u0327 \u0301b",
        "¨ spacing diaeresis ＇＇ fullwidth apostrophes",
        "ΟΔΟΣ final sigma",
    ]
    for flags in (
        dict(lowercase=True, strip_accents=True),
        dict(lowercase=False, strip_accents=False),
    ):
        want = [python_normalize(t, **flags)[0] for t in texts]
        assert graph_normalize(texts, **flags) == want


def test_all_of_unicode_differs_only_in_a_few_recent_characters():
    """The documented difference: Python's and TensorFlow's Unicode tables."""
    chars = [chr(c) for c in range(0x20, 0x30000) if not 0xD800 <= c < 0xE000]
    got = graph_normalize(chars)
    want = [python_normalize(c)[0] for c in chars]
    bad = [c for c, w, g in zip(chars, want, got, strict=True) if w != g]
    assert len(bad) < 400, len(bad)
    common = {chr(c) for start, stop in BLOCKS for c in range(start, stop)}
    assert not common & set(bad)
