"""Model files that cannot hurt you: crafted archives, atomic folders, umask.

The table of crafted archives shows that each is refused with its own
message, by ``albert_sk.load`` and by ``AlbertClassifier.load``, before
anything is written, imported or called.
"""

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
import zipfile

import numpy as np
import pytest

import albert_sk
from albert_sk import AlbertClassifier
from albert_sk.exceptions import ModelFileError
from albert_sk.io import atomic_directory, atomic_write

MEMBERS = ("albert_sk.json", "model.keras", "spiece.model")


@pytest.fixture(scope="module")
def saved(tmp_path_factory, sentiment_small):
    """A tiny fitted classifier, its model file, and the file's members."""
    clf = AlbertClassifier(
        backbone="tiny",
        vocab_size=100,
        max_length=32,
        epochs=1,
        pooling="cls",  # exported by a test below: the [CLS] head
        random_state=0,
        verbose=0,
    )
    labels = np.where(sentiment_small.label == 1, "pos", "neg")
    with warnings.catch_warnings():  # a tiny model need not converge
        warnings.simplefilter("ignore")
        clf.fit(sentiment_small.text[:60], labels[:60])
    path = tmp_path_factory.mktemp("saved") / "clf.albert"
    clf.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    albert_sk.load(path)  # the first load's lazy imports happen here
    return clf, path, members


# === Crafting archives ===


def _zip(items, compression=zipfile.ZIP_STORED):
    """Bytes of a zip archive of ``(name, data)`` pairs, in order."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # repeated names warn
        warnings.simplefilter("ignore", UserWarning)
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, data in items:
                archive.writestr(name, data)
    return buffer.getvalue()


def _meta(members, **changes):
    meta = json.loads(members["albert_sk.json"])
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(meta.get(key), dict):
            meta[key] = {**meta[key], **value}
        else:
            meta[key] = value
    return json.dumps(meta).encode()


def _with(members, name, data):
    """The archive of ``members`` with member ``name`` replaced by ``data``."""
    return _zip({**members, name: data}.items())


def _keras_with(members, edit):
    """``model.keras`` with ``edit(config)`` applied to its config.json."""
    inner = zipfile.ZipFile(io.BytesIO(members["model.keras"]))
    items = [(name, inner.read(name)) for name in inner.namelist()]
    config = json.loads(inner.read("config.json"))
    edit(config)
    items = [
        (n, json.dumps(config).encode() if n == "config.json" else d) for n, d in items
    ]
    return _zip(items)


def _layers(config):
    return config["config"]["layers"]


def _add_lambda(config):
    dense = next(la for la in _layers(config) if la["class_name"] == "Dense")
    dense.update(
        class_name="Lambda",
        config={
            "name": dense["config"]["name"],
            "function": {
                "class_name": "__lambda__",
                "config": {"code": "...", "defaults": None, "closure": None},
            },
        },
    )


def _foreign_class(config):
    dense = next(la for la in _layers(config) if la["class_name"] == "Dense")
    dense.update(module="evil_sentinel", class_name="Evil", registered_name=None)


def _unknown_keras_class(config):
    dense = next(la for la in _layers(config) if la["class_name"] == "Dense")
    dense.update(class_name="NoSuchLayer", registered_name=None)


def _declare_size(data, name, size):
    """``data`` (a zip) with ``name``'s size in the zip directory set to ``size``."""
    data = bytearray(data)
    at = data.find(b"PK\x01\x02")
    while at != -1:
        length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + length] == name.encode():
            data[at + 24 : at + 28] = size.to_bytes(4, "little")
            return bytes(data)
        at = data.find(b"PK\x01\x02", at + 4)
    raise AssertionError(f"{name} not in the zip directory")


ESTIMATOR_LIST = (
    r"expected one of \['AlbertClassifier', 'AlbertPretrainer', 'AlbertQA', "
)


def _sentinel_params(sentinel):
    return {"estimator_or_preset": os.fspath(sentinel), "path": os.fspath(sentinel)}


# (id, build(members, sentinel) -> file bytes, pattern of the message)
CRAFTED = [
    (
        "wrong-class",
        lambda m, s: _with(m, "albert_sk.json", _meta(m, estimator="SVC")),
        r"names the estimator 'SVC', " + ESTIMATOR_LIST,
    ),
    (
        "function-load",
        lambda m, s: _with(
            m, "albert_sk.json", _meta(m, estimator="load", params={"path": str(s)})
        ),
        r"names the estimator 'load', " + ESTIMATOR_LIST,
    ),
    (
        "function-export_hf",
        lambda m, s: _with(
            m,
            "albert_sk.json",
            _meta(m, estimator="export_hf", params=_sentinel_params(s)),
        ),
        r"names the estimator 'export_hf', " + ESTIMATOR_LIST,
    ),
    (
        "private-base-class",
        lambda m, s: _with(m, "albert_sk.json", _meta(m, estimator="AlbertEstimator")),
        r"names the estimator 'AlbertEstimator', " + ESTIMATOR_LIST,
    ),
    (
        "private-fine-tuning-class",
        lambda m, s: _with(
            m, "albert_sk.json", _meta(m, estimator="FineTunedEstimator")
        ),
        r"names the estimator 'FineTunedEstimator', " + ESTIMATOR_LIST,
    ),
    (
        "missing-member",
        lambda m, s: _zip((n, d) for n, d in m.items() if n != "spiece.model"),
        r"it lacks \['spiece\.model'\]\. It may be another kind of zip file; save "
        r"the model again",
    ),
    (
        "extra-member",
        lambda m, s: _zip([*m.items(), ("notes.txt", b"hello")]),
        r"the archive holds \['notes\.txt'\] besides \['albert_sk\.json', "
        r"'model\.keras', 'spiece\.model'\]\. albert_sk never writes such a file",
    ),
    (
        "repeated-member",
        lambda m, s: _zip([*m.items(), ("spiece.model", b"again")]),
        r"the archive holds \['spiece\.model'\] more than once",
    ),
    (
        "parent-path",
        lambda m, s: _zip([*m.items(), ("../x", b"escape")]),
        r"the archive has member names that are paths: \['\.\./x'\]",
    ),
    (
        "absolute-path",
        lambda m, s: _zip([*m.items(), ("/abs/x", b"escape")]),
        r"member names that are paths: \['/abs/x'\]",
    ),
    (
        "path-inside-a-member-name",
        lambda m, s: _zip(
            [("albert_sk.json", m["albert_sk.json"]), ("sub/model.keras", b"")]
        ),
        r"member names that are paths: \['sub/model\.keras'\]",
    ),
    (
        "huge-json-in-the-directory",
        lambda m, s: _declare_size(_zip(m.items()), "albert_sk.json", 0xF0000000),
        r"declares 'albert_sk\.json' as 4,026,531,840 bytes, more than the "
        r"8,388,608 any real model needs",
    ),
    (
        "huge-json-compressible",
        lambda m, s: _zip(
            {**m, "albert_sk.json": b" " * (9 * 2**20)}.items(), zipfile.ZIP_DEFLATED
        ),
        r"declares 'albert_sk\.json' as 9,437,184 bytes, more than the 8,388,608",
    ),
    (
        "zip-bomb",
        lambda m, s: _zip(
            {**m, "spiece.model": bytes(32 * 2**20)}.items(), zipfile.ZIP_DEFLATED
        ),
        r"'spiece\.model' in the archive inflates from [\d,]+ to 33,554,432 bytes "
        r"\(a zip bomb",
    ),
    (
        "huge-model-keras-inside",
        lambda m, s: _with(
            m,
            "model.keras",
            _declare_size(
                _zip([("config.json", b"{}"), ("model.weights.h5", b"")]),
                "model.weights.h5",
                0xFFFFFFF0,
            ),
        ),
        r"'model\.weights\.h5' in model\.keras inflates from 0 to 4,294,967,280 "
        r"bytes \(a zip bomb",
    ),
    (
        "truncated-zip",
        lambda m, s: _zip(m.items())[: len(_zip(m.items())) // 2],
        r"is not an albert_sk model file \(a zip archive written by "
        r"est\.save\(path\)\): it may be truncated or a different kind of file\. "
        r"Save the model again\.",
    ),
    (
        "not-a-zip",
        lambda m, s: b"just some text\n",
        r"it may be truncated or a different kind of file",
    ),
    (
        "not-json",
        lambda m, s: _with(m, "albert_sk.json", b"\xff{not json"),
        r"albert_sk\.json is damaged \(not valid JSON: .*\)\. It was cut short or "
        r"edited; save the model again\.",
    ),
    (
        "other-format",
        lambda m, s: _with(m, "albert_sk.json", _meta(m, format="scikeras")),
        r"albert_sk\.json has format 'scikeras', expected 'albert_sk'",
    ),
    (
        "newer-format-version",
        lambda m, s: _with(
            m,
            "albert_sk.json",
            _meta(m, format_version=2, albert_sk_version="9.9.0"),
        ),
        r"was written by albert_sk 9\.9\.0 \(model format version 2\); this "
        r"albert_sk [\d.]+ reads format version 1 and older\. Upgrade albert_sk: "
        r"pip install -U albert_sk\.",
    ),
    (
        "bad-format-version",
        lambda m, s: _with(m, "albert_sk.json", _meta(m, format_version="1")),
        r"has format_version '1', expected 1",
    ),
    (
        "unknown-parameter",
        lambda m, s: _with(
            m, "albert_sk.json", _meta(m, params={"n_neighbors": 3, "path": str(s)})
        ),
        r"sets \['n_neighbors', 'path'\] for AlbertClassifier, which has no such "
        r"parameters",
    ),
    (
        "invalid-parameter",
        lambda m, s: _with(m, "albert_sk.json", _meta(m, params={"max_length": 4})),
        r"holds an invalid parameter \(The 'max_length' parameter of "
        r"AlbertClassifier must be",
    ),
    (
        "params-not-an-object",
        lambda m, s: _with(m, "albert_sk.json", _meta(m, params=[1, 2])),
        r"albert_sk\.json's 'params' is list, expected an object",
    ),
    (
        "foreign-fitted-attribute",
        lambda m, s: _with(m, "albert_sk.json", _meta(m, fitted={"predict": 1})),
        r"sets fitted attributes \['predict'\] that AlbertClassifier does not save",
    ),
    (
        "fitted-array-of-an-unknown-dtype",
        lambda m, s: _with(
            m,
            "albert_sk.json",
            _meta(m, fitted={"classes_": {"__ndarray__": [1], "dtype": "evil"}}),
        ),
        r"albert_sk\.json's fitted attributes do not fit AlbertClassifier "
        r"\(TypeError: data type 'evil' not understood\)",
    ),
    (
        "number-too-long-to-parse",
        lambda m, s: _with(
            m,
            "albert_sk.json",
            _meta(m).replace(b'"epochs": 1', b'"epochs": ' + b"9" * 5000),
        ),
        r"albert_sk\.json is damaged \(not valid JSON: ValueError: Exceeds the limit",
    ),
    (
        "odd-tokenizer",
        lambda m, s: _with(m, "albert_sk.json", _meta(m, tokenizer={"lowercase": "x"})),
        r"albert_sk\.json's 'tokenizer' is .* expected \{'lowercase': bool",
    ),
    (
        "lambda-layer",
        lambda m, s: _with(m, "model.keras", _keras_with(m, _add_lambda)),
        r"model\.keras holds a Lambda layer, which runs arbitrary Python code when "
        r"loaded; Keras safe_mode and albert_sk refuse it\. albert_sk never writes",
    ),
    (
        "class-from-a-foreign-module",
        lambda m, s: _with(m, "model.keras", _keras_with(m, _foreign_class)),
        r"model\.keras names the class 'Evil' from module 'evil_sentinel', not from "
        r"keras / keras_hub / albert_sk",
    ),
    (
        "unknown-keras-class",
        lambda m, s: _with(m, "model.keras", _keras_with(m, _unknown_keras_class)),
        r"Keras cannot rebuild its model\.keras safely \(\w+: .*NoSuchLayer",
    ),
    (
        "model-keras-not-a-zip",
        lambda m, s: _with(m, "model.keras", b"not a zip"),
        r"its model\.keras is damaged \(BadZipFile: .*; save the model again\.",
    ),
    (
        "spiece-not-sentencepiece",
        lambda m, s: _with(m, "spiece.model", b"\x00garbage"),
        r"its spiece\.model is not a SentencePiece model",
    ),
]


@pytest.fixture
def guarded(tmp_path, monkeypatch):
    """A sentinel export folder, an empty temp folder, a module that must not load.

    Yields ``(sentinel, check)``; ``check()`` asserts nothing was touched.
    """
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    (sentinel / "config.json").write_text('{"keep": true}')
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    modules = tmp_path / "modules"
    modules.mkdir()
    imported = tmp_path / "imported"
    (modules / "evil_sentinel.py").write_text(
        f"open({str(imported)!r}, 'w').close()\nclass Evil:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(modules))
    before = set(sys.modules)

    def check():
        assert sorted(os.listdir(sentinel)) == ["config.json"]
        assert (sentinel / "config.json").read_text() == '{"keep": true}'
        assert os.listdir(scratch) == []
        assert not imported.exists()
        assert set(sys.modules) - before == set()

    return sentinel, check


@pytest.mark.parametrize("loader", ["albert_sk.load", "AlbertClassifier.load"])
@pytest.mark.parametrize(
    ("build", "pattern"),
    [pytest.param(b, p, id=i) for i, b, p in CRAFTED],
)
def test_crafted_archive_is_refused_before_anything_is_used(
    saved, guarded, tmp_path, build, pattern, loader
):
    _, _, members = saved
    sentinel, check = guarded
    folder = tmp_path / "files"
    folder.mkdir()
    path = folder / "crafted.albert"
    path.write_bytes(build(members, sentinel))
    load = albert_sk.load if loader == "albert_sk.load" else AlbertClassifier.load
    with pytest.raises(ModelFileError, match=pattern) as caught:
        load(path)
    assert repr(os.fspath(path)) in str(caught.value)  # it names the file
    assert os.listdir(folder) == ["crafted.albert"]
    check()


def test_the_registry_lists_every_estimator_and_nothing_else():
    from albert_sk._registry import TASKS
    from albert_sk.base import AlbertEstimator
    from albert_sk.finetuning import FineTunedEstimator
    from albert_sk.model_file import ESTIMATORS, _estimator_class

    public = {n for n in albert_sk.__all__ if n.startswith("Albert")}
    assert set(ESTIMATORS) == public
    classes = {name: getattr(albert_sk, name) for name in ESTIMATORS}
    for name, cls in classes.items():
        assert _estimator_class(name, AlbertEstimator) is cls
        assert _estimator_class(name, cls) is cls
    # Every estimator class of the package is registered (subclasses of
    # subclasses included; the two layers of base classes are no estimators),
    # and a class never finds another's file.
    defined, stack = set(), [AlbertEstimator]
    while stack:
        cls = stack.pop()
        layers = (AlbertEstimator, FineTunedEstimator)
        if cls.__module__.startswith("albert_sk.") and cls not in layers:
            defined.add(cls.__name__)
        stack.extend(cls.__subclasses__())
    assert defined == set(ESTIMATORS)
    assert _estimator_class("AlbertTagger", classes["AlbertClassifier"]) is None
    # Each task of the command line has a head export_hf writes; the
    # vectorizer and the pretrainer have none.
    heads = {name: cls._hf_head is not None for name, cls in classes.items()}
    assert heads == {name: name in TASKS.values() for name in classes}


def test_a_real_file_still_loads_and_predicts_the_same(saved):
    clf, path, _ = saved
    loaded = AlbertClassifier.load(path)
    texts = ["a fine film", "dull and slow", "great", "not good at all"]
    np.testing.assert_array_equal(loaded.predict(texts), clf.predict(texts))


# === Permissions ===


@pytest.fixture
def umask():
    """``umask(mask)`` sets the process umask for one test; restored after."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
@pytest.mark.parametrize(
    ("mask", "file_mode", "folder_mode"),
    [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750), (0o077, 0o600, 0o700)],
)
def test_written_files_and_folders_follow_the_umask(
    umask, tmp_path, mask, file_mode, folder_mode
):
    umask(mask)
    with atomic_write(tmp_path / "file.bin") as fh:
        fh.write(b"data")
    assert os.stat(tmp_path / "file.bin").st_mode & 0o777 == file_mode
    with atomic_directory(tmp_path / "folder") as folder:
        with open(os.path.join(folder, "a.txt"), "w") as fh:
            fh.write("a")
    assert os.stat(tmp_path / "folder").st_mode & 0o777 == folder_mode
    assert os.stat(tmp_path / "folder" / "a.txt").st_mode & 0o777 == file_mode


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_saved_model_follows_the_umask(saved, umask, tmp_path):
    clf, *_ = saved
    umask(0o022)
    path = clf.save(tmp_path / "clf.albert")
    assert os.stat(path).st_mode & 0o777 == 0o644


# === Atomic folders ===


def _old_folder(path):
    path.mkdir()
    (path / "config.json").write_text("old config")
    (path / "model.safetensors.index.json").write_text('{"weight_map": {}}')
    return {p.name: p.read_bytes() for p in path.iterdir()}


def _contents(path):
    return {p.name: p.read_bytes() for p in path.iterdir()}


def _temporaries(path):
    return [n for n in os.listdir(path.parent) if n.startswith(f".{path.name}-")]


CHILD = """
import os, sys, time
from albert_sk.io import atomic_directory, atomic_write
kind, target, ready = sys.argv[1:]
if kind == "folder":
    with atomic_directory(target, marker="config.json") as folder:
        with open(os.path.join(folder, "config.json"), "w") as fh:
            fh.write("half-written")
        open(ready, "w").close()
        time.sleep(120)
else:
    with atomic_write(target) as fh:
        fh.write(b"half-written")
        fh.flush()
        open(ready, "w").close()
        time.sleep(120)
"""


def _kill_mid_write(kind, target, tmp_path):
    ready = tmp_path / "ready"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, kind, os.fspath(target), os.fspath(ready)],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert child.poll() is None, "the child process ended early"
            assert time.monotonic() < deadline, "the child never started writing"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_folder_write_leaves_the_old_folder_and_no_temporary_after(tmp_path):
    from albert_sk.io import write_directory

    target = tmp_path / "export"
    old = _old_folder(target)
    _kill_mid_write("folder", target, tmp_path)
    assert _contents(target) == old
    assert len(_temporaries(target)) == 1  # the killed write's own folder

    def write(folder):
        with open(os.path.join(folder, "config.json"), "w") as fh:
            fh.write("new config")

    write_directory(target, write, marker="config.json")
    # The stale index of the earlier export is gone with it.
    assert _contents(target) == {"config.json": b"new config"}
    assert _temporaries(target) == []


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_file_write_leaves_the_old_file_and_no_temporary_after(tmp_path):
    target = tmp_path / "clf.albert"
    target.write_bytes(b"old model")
    _kill_mid_write("file", target, tmp_path)
    assert target.read_bytes() == b"old model"
    assert len(_temporaries(target)) == 1
    with atomic_write(target) as fh:
        fh.write(b"new model")
    assert target.read_bytes() == b"new model"
    assert _temporaries(target) == []


def test_an_error_mid_write_leaves_the_old_folder(tmp_path):
    target = tmp_path / "export"
    old = _old_folder(target)
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_directory(target) as folder:
            (open(os.path.join(folder, "config.json"), "w")).close()
            raise RuntimeError("disk full")
    assert _contents(target) == old
    assert _temporaries(target) == []


def test_a_folder_that_is_not_an_earlier_export_is_not_replaced(tmp_path):
    from albert_sk.io import write_directory

    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    with pytest.raises(
        FileExistsError,
        match=r"writing replaces the whole folder, and this one holds other files "
        r"\(no 'config\.json', so it is not an earlier export\)\. Choose a new or "
        r"empty folder",
    ):
        write_directory(home, lambda folder: None, marker="config.json")
    assert _contents(home) == {"notes.txt": b"mine"}
    assert _temporaries(home) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match=r"a file is there"):
        write_directory(tmp_path / "file", lambda folder: None, marker="config.json")


def test_export_hf_and_save_preset_replace_the_whole_folder(saved, tmp_path):
    from albert_sk.backbones import save_preset
    from albert_sk.efficiency import find_backbone
    from albert_sk.export.hf import export_hf

    clf, *_ = saved
    out = tmp_path / "hf"
    export_hf(clf, out)
    first = sorted(os.listdir(out))
    (out / "model.safetensors.index.json").write_text('{"weight_map": {}}')
    assert export_hf(clf, out) == os.fspath(out)
    assert sorted(os.listdir(out)) == first
    assert _temporaries(out) == []

    preset = tmp_path / "preset"
    save_preset(find_backbone(clf.model_), clf.tokenizer_, preset)
    files = sorted(os.listdir(preset))
    (preset / "stale.weights.h5").write_text("stale")
    save_preset(find_backbone(clf.model_), clf.tokenizer_, preset)
    assert sorted(os.listdir(preset)) == files
    assert _temporaries(preset) == []
