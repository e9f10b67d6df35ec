"""Error branches that no other test reached (issue 17.6).

Each test triggers one ``raise`` (or the rollback around one) through the
function a user calls and pins the exception class and the message: what was
expected, what was received and the fix. Most need no model; the model-file
cases share one tiny fitted classifier. ``tests/test_bad_inputs.py`` holds the
catalogue of common bad inputs; nothing here repeats it.
"""

import io
import json
import os
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

import albert_sk
from albert_sk import AlbertClassifier, AlbertPretrainer, AlbertQA
from albert_sk.cli import main
from albert_sk.exceptions import InputError, ModelFileError
from albert_sk.io import atomic_directory, read_cluener, utf8_error

QA = dict(backbone="tiny", vocab_size=100, max_length=32, max_query_length=12)


def pretrainer():
    return AlbertPretrainer(backbone="tiny", vocab_size=100, max_length=32, max_steps=1)


def cli_error(capsys, argv):
    """The stderr line of ``albert-sk argv``, which must exit with code 2."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, f"albert-sk {argv} exited with {code}: {err}"
    return err.strip()


# === Input checks (albert_sk/checks.py) ===


def test_a_row_holding_an_array_is_not_mistaken_for_a_missing_text():
    # pd.isna of an array is an array: the check treats it as present, not
    # missing, and says which type it is.
    X = ["a good film", np.array([1, 2, 3])]
    with pytest.raises(
        InputError,
        match=r"AlbertClassifier expects texts \(str\), but row 1 is ndarray "
        r"\(array\(\[1, 2, 3\]\)\)\. Convert the column first",
    ):
        AlbertClassifier(backbone="tiny").fit(X, ["pos", "neg"])


def test_qa_input_that_is_not_iterable():
    with pytest.raises(
        InputError,
        match=r"AlbertQA expects a DataFrame with 'question' and 'context' "
        r"columns, or a list of dicts with those keys, but got int\. Pass a list",
    ):
        AlbertQA(**QA).fit(42, ["Paris"])


def test_qa_fit_without_answers():
    X = [{"question": "Where?", "context": "Ada was born in Paris."}]
    with pytest.raises(
        InputError,
        match=r"AlbertQA\.fit needs answers y \(one per question\), but got y=None",
    ):
        AlbertQA(**QA).fit(X, None)


# === Pretraining corpora (albert_sk/pretraining) ===


class Restartable:
    """An iterable without a length whose ``__iter__`` starts over."""

    def __init__(self, docs):
        self.docs = docs

    def __iter__(self):
        return iter(self.docs)


def test_a_blank_restartable_iterable_is_named_in_the_message():
    with pytest.raises(
        InputError,
        match=r"The corpus \(an iterable\) holds no text: every document is empty "
        r"or blank\. Pass documents with some text",
    ):
        pretrainer().fit(Restartable(["", "   "]))


def test_a_blank_stream_is_refused_before_a_model_is_built():
    with pytest.raises(
        InputError,
        match=r"The corpus \(a stream\) holds no text: every document is empty or "
        r"blank\. Pass documents",
    ):
        pretrainer().fit(d for d in ["", " \n"])


# 400 distinct characters: more than a vocabulary of 100 pieces can hold.
MANY_CHARACTERS = [
    " ".join(chr(0x4E00 + i) for i in range(k, k + 50)) for k in range(0, 400, 50)
]


def test_a_vocabulary_too_small_for_the_characters():
    with pytest.raises(
        InputError,
        match=r"vocab_size=100 is too small for these texts: the vocabulary must "
        r"hold their \d+ most frequent characters .* Raise vocab_size to at least",
    ):
        pretrainer().fit(MANY_CHARACTERS)


def test_a_bad_document_is_reported_even_when_sentencepiece_fails_too():
    # SentencePiece fails (too many characters) on the documents read before
    # the bad one; the corpus error that cut its input short is reported.
    with pytest.raises(
        InputError,
        match=r"The corpus must hold documents as str, but document 8 is NoneType "
        r"\(None\)\. Convert or drop it",
    ):
        pretrainer().fit([*MANY_CHARACTERS, None])


# === Reading files (albert_sk/io.py) ===


def test_cluener_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "train.json"
    record = json.dumps({"text": "abc", "label": {}}).encode()
    path.write_bytes(record + b"\n\n" + b'{"text": "\xe9t\xe9"}\n')
    with pytest.raises(
        InputError, match=r"CLUENER file .*train\.json.* is not (utf|UTF)-8 text"
    ):
        read_cluener(path)


def test_cluener_skips_blank_lines(tmp_path):
    path = tmp_path / "train.json"
    record = json.dumps({"text": "abc", "label": {}}, ensure_ascii=False)
    path.write_text(f"{record}\n\n   \n{record}\n", encoding="utf-8")
    assert read_cluener(path) == (["abc", "abc"], [[], []])


def test_utf8_error_of_a_utf8_file_is_none(tmp_path):
    path = tmp_path / "ok.txt"
    path.write_text("héllo\nwörld\n", encoding="utf-8")
    assert utf8_error(path) is None


def _temporary(target, pid):
    path = target.parent / f".{target.name}-{pid}-abcd1234.part"
    path.mkdir()
    return path


def test_temporaries_of_live_processes_are_kept(tmp_path, monkeypatch):
    target = tmp_path / "export"
    own = _temporary(target, os.getpid())
    alive = _temporary(target, 424241)
    other_user = _temporary(target, 424242)
    dead = _temporary(target, 424243)

    def kill(pid, signal):
        if pid == 424241:
            return None  # running
        if pid == 424242:
            raise PermissionError(1, "Operation not permitted")
        raise ProcessLookupError(3, "No such process")

    monkeypatch.setattr(os, "kill", kill)
    with atomic_directory(target) as folder:
        open(os.path.join(folder, "config.json"), "w").close()
    assert own.exists() and alive.exists() and other_user.exists()
    assert not dead.exists()
    assert os.listdir(target) == ["config.json"]


def test_a_failed_rename_puts_the_old_folder_back(tmp_path, monkeypatch):
    target = tmp_path / "export"
    target.mkdir()
    (target / "config.json").write_text("old config")
    rename = os.rename

    def failing_rename(src, dst):
        if os.fspath(src).endswith(".part"):
            raise OSError(28, "No space left on device")
        return rename(src, dst)

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(OSError, match="No space left on device"):
        with atomic_directory(target) as folder:
            with open(os.path.join(folder, "config.json"), "w") as fh:
                fh.write("new config")
    assert (target / "config.json").read_text() == "old config"
    assert sorted(os.listdir(tmp_path)) == ["export"]  # no temporaries


# === Model files (albert_sk/model_file.py) ===


@pytest.fixture(scope="module")
def members(tmp_path_factory, sentiment_small):
    """The members of a tiny fitted classifier's model file."""
    clf = AlbertClassifier(
        backbone="tiny", vocab_size=100, max_length=32, epochs=1, random_state=0
    )
    labels = np.where(sentiment_small.label == 1, "pos", "neg")
    path = tmp_path_factory.mktemp("model") / "clf.albert"
    # A tiny model need not converge; Keras' save warns on NumPy 2 under -W error.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(sentiment_small.text[:40], labels[:40])
        clf.save(path)
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(items):
    """Bytes of a stored (uncompressed) zip archive of ``(name, data)`` pairs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in items:
            archive.writestr(name, data)
    return buffer.getvalue()


def _directory_entry(data, name):
    """Offset of ``name``'s record in the zip directory of ``data``."""
    at = data.find(b"PK\x01\x02")
    while at != -1:
        length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + length] == name.encode():
            return at
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{name} not in the zip directory")


def _declare(data, name, *, flags=0, compressed=None, size=None):
    """``data`` with ``name``'s directory record edited: flag bits OR-ed in,
    compressed and uncompressed sizes set."""
    data = bytearray(data)
    at = _directory_entry(data, name)
    old = int.from_bytes(data[at + 8 : at + 10], "little")
    data[at + 8 : at + 10] = (old | flags).to_bytes(2, "little")
    if compressed is not None:
        data[at + 20 : at + 24] = compressed.to_bytes(4, "little")
    if size is not None:
        data[at + 24 : at + 28] = size.to_bytes(4, "little")
    return bytes(data)


def _keras(members, items):
    """The model file of ``members`` with model.keras holding ``items``."""
    return _zip({**members, "model.keras": _zip(items)}.items())


def _load(tmp_path, data):
    path = tmp_path / "crafted.albert"
    path.write_bytes(data)
    albert_sk.load(path)


CRAFTED = "albert_sk never writes such a file: load only model files you trust"


def test_an_encrypted_member_is_refused(members, tmp_path):
    data = _declare(_zip(members.items()), "spiece.model", flags=0x1)
    with pytest.raises(
        ModelFileError,
        match=r"is not an albert_sk model file .*: 'spiece\.model' in the archive "
        r"is encrypted\. " + CRAFTED,
    ):
        _load(tmp_path, data)


def test_model_keras_members_declaring_too_much_in_all(members, tmp_path):
    inner = _zip([("config.json", b"{}"), ("a.h5", b""), ("b.h5", b"")])
    for name in ("a.h5", "b.h5"):  # 3 GiB each, under the 4 GiB limit
        inner = _declare(inner, name, compressed=2**30, size=3 * 2**30)
    data = _zip({**members, "model.keras": inner}.items())
    with pytest.raises(
        ModelFileError,
        match=r"model\.keras's members declare 6,442,450,946 bytes in all, more "
        r"than the 4,294,967,296 any real model needs\. " + CRAFTED,
    ):
        _load(tmp_path, data)


def test_model_keras_without_config_json(members, tmp_path):
    data = _keras(members, [("model.weights.h5", b"")])
    with pytest.raises(
        ModelFileError, match=r"model\.keras has no config\.json\. " + CRAFTED
    ):
        _load(tmp_path, data)


def test_model_keras_with_a_huge_config_json(members, tmp_path):
    data = _keras(members, [("config.json", b" " * (9 * 2**20))])
    with pytest.raises(
        ModelFileError,
        match=r"model\.keras's config\.json is over 8,388,608 bytes\. " + CRAFTED,
    ):
        _load(tmp_path, data)


def test_model_keras_with_a_config_nested_too_deeply(members, tmp_path):
    config = b"[" * 100_000 + b"]" * 100_000
    data = _keras(members, [("config.json", config)])
    with pytest.raises(
        ModelFileError,
        match=r"model\.keras's config\.json is nested too deeply\. " + CRAFTED,
    ):
        _load(tmp_path, data)


def test_a_model_keras_refusal_is_not_wrapped_in_a_damaged_message(members, tmp_path):
    data = _keras(members, [("model.weights.h5", b"")])
    with pytest.raises(ModelFileError) as caught:
        _load(tmp_path, data)
    assert "is damaged" not in str(caught.value)


def test_a_wordpiece_tokenizer_without_its_vocabulary(members, tmp_path):
    meta = json.loads(members["albert_sk.json"])
    meta["tokenizer"] = {**meta["tokenizer"], "wordpiece": True}
    data = _zip({**members, "albert_sk.json": json.dumps(meta).encode()}.items())
    with pytest.raises(
        ModelFileError,
        match=r"albert_sk\.json's 'tokenizer' is \{.*'wordpiece': True.* but the "
        r"archive holds spiece\.model\. " + CRAFTED,
    ):
        _load(tmp_path, data)


def test_a_member_whose_bytes_do_not_match_its_checksum(members, tmp_path):
    data = bytearray(_zip(members.items()))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("spiece.model")
    start = info.header_offset + 30 + len(info.filename.encode())
    start += int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30])
    data[start + 10] ^= 0xFF  # one flipped byte: the CRC no longer matches
    with pytest.raises(
        ModelFileError,
        match=r"is damaged \(Bad CRC-32 for file 'spiece\.model'\): it is not "
        r"readable as an albert_sk model file .*; save the model again\.",
    ):
        _load(tmp_path, bytes(data))


# === The albert-sk command (albert_sk/cli/data.py) ===


def test_cli_parquet_without_an_engine(tmp_path, capsys, monkeypatch):
    path = tmp_path / "train.parquet"
    path.write_bytes(b"PAR1")

    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    err = cli_error(capsys, ["fit", "--data", path, "--out", tmp_path / "m.albert"])
    assert "train.parquet' needs a parquet engine (Unable to find a usable " in err
    assert err.endswith("Install one with: pip install pyarrow")


def test_cli_table_that_does_not_parse(tmp_path, capsys):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "good", "label": "pos"}\nnot json at all\n')
    err = cli_error(capsys, ["fit", "--data", path, "--out", tmp_path / "m.albert"])
    assert "albert-sk fit: error: cannot parse '" in err
    assert "train.jsonl' as jsonl: " in err


def test_cli_tagger_missing_conll_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["fit", "--task", "tagger", "--data", "no.conll", "--out", "m.albert"]
    err = cli_error(capsys, argv)
    assert "no such file: 'no.conll'. Check the --data path." in err


def test_cli_qa_missing_squad_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["fit", "--task", "qa", "--data", "no.json", "--out", "m.albert"]
    err = cli_error(capsys, argv)
    assert "no such file: 'no.json'. Check the --data path." in err


def test_cli_qa_squad_file_without_questions(tmp_path, capsys):
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"version": "1.1", "data": []}))
    argv = ["fit", "--task", "qa", "--data", path, "--out", tmp_path / "m.albert"]
    err = cli_error(capsys, argv)
    assert f"{os.fspath(path)!r} holds no questions." in err
