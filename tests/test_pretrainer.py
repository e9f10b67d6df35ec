"""AlbertPretrainer: n-gram masking, SOP pairs, learning on real text, checkpoints,
presets, streaming and bad input."""

import json
import os
import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _data import DATA, require
from _marks import API_FITS

from albert_sk.exceptions import InputError, ModelFileError, VocabularyWarning
from albert_sk.pretraining.masking import (
    document_chunks,
    ngram_mask,
    ngram_probabilities,
    sop_pair,
    split_sentences,
)

ROOT = Path(__file__).resolve().parents[1]
SQUAD = DATA / "squad"


def hub_tokenizer(path):
    """keras-hub's AlbertTokenizer of a preset (it leaves the vocabulary open)."""
    import warnings

    import keras_hub

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        return keras_hub.models.AlbertTokenizer.from_preset(path)


def squad_contexts(n):
    # The full file, or its slice in tests/data/ (it holds 178 paragraphs).
    path = require(SQUAD / "dev-v1.1-part-a.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    return [p["context"] for a in data["data"] for p in a["paragraphs"]][:n]


# === Masking (numpy only) ===

# A toy vocabulary: 0 pad, 1 unk, 2 [CLS], 3 [SEP], 4 [MASK], then pieces;
# even ids from 6 start a word ("▁x"), odd ones continue it.
VOCAB = 40
STARTS = np.array([i >= 6 and i % 2 == 0 for i in range(VOCAB)])
SPECIAL = np.arange(VOCAB) < 5
REPLACE = np.arange(5, VOCAB)


def toy_row(n_words, rng):
    """[CLS] words [SEP], each word one start piece plus 0-2 continuations."""
    ids = [2]
    for _ in range(n_words):
        ids.append(int(rng.choice(np.arange(6, VOCAB, 2))))
        ids += [int(rng.choice(np.arange(7, VOCAB, 2))) for _ in range(rng.integers(3))]
    return np.array(ids + [3])


def mask(ids, rng, **kwargs):
    return ngram_mask(
        ids,
        rng,
        word_starts=STARTS,
        special=SPECIAL,
        mask_id=4,
        replace_ids=REPLACE,
        **kwargs,
    )


def test_ngram_mask_covers_the_rate_in_whole_words_and_never_specials():
    rng = np.random.default_rng(0)
    for _ in range(200):
        ids = toy_row(30, rng)
        corrupted, positions, labels = mask(ids, rng)
        n_tokens = len(ids) - 2
        assert 1 <= len(positions) <= round(n_tokens * 0.15)
        assert len(positions) >= round(n_tokens * 0.15) - 3  # budget nearly used
        assert not SPECIAL[ids[positions]].any()
        assert (labels == ids[positions]).all()
        chosen = set(positions.tolist())
        for p in positions:  # whole words: a chosen start takes its continuations
            q = p + 1
            if STARTS[ids[p]]:
                while q < len(ids) - 1 and not STARTS[ids[q]]:
                    assert q in chosen
                    q += 1
        untouched = np.setdiff1d(np.arange(len(ids)), positions)
        assert (corrupted[untouched] == ids[untouched]).all()


def test_ngram_mask_follows_80_10_10_and_masks_ngrams_up_to_three_words():
    rng = np.random.default_rng(1)
    outcomes = np.zeros(3)
    runs = {1: 0, 2: 0, 3: 0}
    for _ in range(400):
        ids = np.array([2] + list(range(6, 6 + 2 * 17, 2)) + [3])  # 17 one-piece words
        corrupted, positions, _ = mask(ids, rng, mask_rate=0.2)
        masked = corrupted[positions] == 4
        kept = corrupted[positions] == ids[positions]
        outcomes += [masked.sum(), kept.sum(), (~masked & ~kept).sum()]
        # Runs of consecutive chosen words (n-grams, or touching ones).
        run = 1
        for a, b in zip(positions[:-1], positions[1:], strict=True):
            if b == a + 1:
                run += 1
            else:
                runs[min(run, 3)] += 1
                run = 1
        runs[min(run, 3)] += 1
    share = outcomes / outcomes.sum()
    # "kept" includes a random replacement that drew the same id (1/35 of 10%).
    assert share[0] == pytest.approx(0.8, abs=0.03)
    assert share[1] == pytest.approx(0.1, abs=0.03)
    assert share[2] == pytest.approx(0.1, abs=0.03)
    assert runs[2] > 0 and runs[3] > 0 and runs[1] > runs[3]


def test_ngram_probabilities_are_albert_1_over_n():
    p = ngram_probabilities(3)
    assert p.sum() == pytest.approx(1.0)
    assert p[0] / p[1] == pytest.approx(2.0) and p[0] / p[2] == pytest.approx(3.0)


def test_sentences_chunks_and_sop_pairs():
    assert split_sentences("A b. C d?  E!\nF g") == ["A b.", "C d?", "E!", "F g"]
    # A sentence longer than the target is cut, nothing is lost.
    chunks = document_chunks([[6, 7, 8, 9, 10], [12], [14, 16]], 4)
    assert [t for c in chunks for s in c for t in s] == [6, 7, 8, 9, 10, 12, 14, 16]
    assert all(sum(len(s) for s in c) <= 4 for c in chunks)
    rng = np.random.default_rng(0)
    labels = []
    for _ in range(400):
        a, b, label = sop_pair([[6, 7], [8], [10, 11]], rng, STARTS)
        labels.append(label)
        original = [6, 7, 8, 10, 11]
        assert (b + a if label else a + b) == original and a and b
    assert np.mean(labels) == pytest.approx(0.5, abs=0.08)
    # One sentence is cut at a word start; a single word has no order.
    a, b, label = sop_pair([[6, 7, 8, 9]], rng, STARTS)
    assert sorted(a + b) == [6, 7, 8, 9] and label in (0, 1)
    assert sop_pair([[6, 7]], rng, STARTS) == ([6, 7], [], -1)


# === Training on real text ===


@pytest.fixture(scope="module")
def contexts():
    return squad_contexts(120)


@pytest.fixture(scope="module")
def pretrained(contexts):
    from albert_sk import AlbertPretrainer

    pre = AlbertPretrainer(
        backbone="tiny",
        vocab_size=400,
        max_length=64,
        epochs=3,
        batch_size=32,
        learning_rate=2e-3,
        log_every=5,
        random_state=0,
    )
    return pre.fit(contexts)


def test_mlm_accuracy_rises_clearly_above_its_start_on_squad_contexts(pretrained):
    history = pretrained.history_
    for key in ("loss", "mlm_loss", "mlm_accuracy", "sop_loss", "sop_accuracy"):
        assert len(history[key]) == len(history["step"])
    assert history["step"][-1] == pretrained.n_steps_
    first, last = history["mlm_accuracy"][0], np.mean(history["mlm_accuracy"][-3:])
    assert last > first + 0.03 and last > 3 * first
    assert np.mean(history["mlm_loss"][-3:]) < history["mlm_loss"][0] - 0.5


def test_score_is_masked_token_accuracy_and_pickle_keeps_the_model(
    pretrained, contexts
):
    score = pretrained.score(contexts[:20])
    assert 0.02 < score < 0.5
    assert pretrained.score(contexts[:20]) == score  # masking is seeded
    clone = pickle.loads(pickle.dumps(pretrained))
    assert clone.score(contexts[:20]) == pytest.approx(score)


def test_save_and_load_like_every_estimator(pretrained, contexts, tmp_path):
    """The pretrainer is an AlbertEstimator: est.save / albert_sk.load restore
    the same scores, the MLM head tied to the loaded embedding again."""
    import albert_sk
    from albert_sk import AlbertPretrainer
    from albert_sk.base import AlbertEstimator

    assert isinstance(pretrained, AlbertEstimator)
    path = pretrained.save(tmp_path / "pre.albert")
    loaded = albert_sk.load(path)
    assert type(loaded) is AlbertPretrainer
    assert loaded.get_params() == pretrained.get_params()
    assert (loaded.n_steps_, loaded.seed_) == (pretrained.n_steps_, 0)
    assert loaded.history_ == pretrained.history_
    assert loaded.score(contexts[:20]) == pytest.approx(pretrained.score(contexts[:20]))
    head = loaded.model_.get_layer("mlm_head")
    assert head.token_embedding is loaded.backbone_.token_embedding
    preset = loaded.save_preset(tmp_path / "preset")
    assert os.path.isfile(os.path.join(preset, "config.json"))


def test_a_pretrainer_file_without_its_heads_is_refused(pretrained, tmp_path):
    import zipfile

    from albert_sk import AlbertPretrainer
    from albert_sk.exceptions import ModelFileError

    path = pretrained.save(tmp_path / "pre.albert")
    cut = tmp_path / "cut.albert"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(cut, "w") as dst:
        for name in src.namelist():
            if name != "heads.npz":
                dst.writestr(name, src.read(name))
    with pytest.raises(ModelFileError, match=r"holds \[\] besides .*heads\.npz"):
        AlbertPretrainer.load(cut)


@API_FITS  # one epoch on a few dozen texts checks the hand-over, not learning
def test_save_preset_loads_in_keras_hub_and_fine_tunes_a_classifier(
    pretrained, tmp_path, sentiment_small
):
    import keras_hub

    from albert_sk import AlbertClassifier

    path = pretrained.save_preset(tmp_path / "preset")
    backbone = keras_hub.models.AlbertBackbone.from_preset(path)
    tokenizer = hub_tokenizer(path)
    assert tokenizer.vocabulary_size() == pretrained.tokenizer_.vocab_size
    x = {
        "token_ids": np.array([[2, 10, 11, 12, 3, 0]], "int32"),
        "segment_ids": np.zeros((1, 6), "int32"),
        "padding_mask": np.array([[1, 1, 1, 1, 1, 0]], "int32"),
    }
    ours = pretrained.backbone_.predict_on_batch(x)["sequence_output"]
    theirs = backbone.predict_on_batch(x)["sequence_output"]
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    norm = json.loads((Path(path) / "albert_sk.json").read_text())
    assert norm["lowercase"] is True and norm["strip_accents"] is True
    clf = AlbertClassifier(preset=path, max_length=64, epochs=1, random_state=0)
    clf.fit(sentiment_small.text, sentiment_small.label)
    assert clf.tokenizer_.proto == pretrained.tokenizer_.proto
    assert clf.predict(sentiment_small.text[:5]).shape == (5,)


@API_FITS
def test_to_estimator_saves_the_preset_and_returns_an_unfitted_clone_on_it(
    pretrained, tmp_path, sentiment_small
):
    from sklearn.exceptions import NotFittedError

    from albert_sk import AlbertClassifier

    asked = AlbertClassifier(max_length=128, epochs=2, dropout=0.2, random_state=0)
    clf = pretrained.to_estimator(asked, tmp_path / "reviews_albert")
    assert clf is not asked and asked.preset is None  # the argument is untouched
    assert Path(clf.preset) == tmp_path / "reviews_albert"
    assert (Path(clf.preset) / "config.json").is_file()
    # The preset holds 64 positions: max_length is capped there; the rest kept.
    assert clf.max_length == 64
    assert (clf.epochs, clf.dropout, clf.random_state) == (2, 0.2, 0)
    with pytest.raises(NotFittedError):
        clf.predict(["not fitted yet"])
    clf.fit(sentiment_small.text, sentiment_small.label)
    assert clf.tokenizer_.proto == pretrained.tokenizer_.proto
    assert clf.predict(sentiment_small.text[:5]).shape == (5,)
    with pytest.raises(InputError, match="needs an albert_sk estimator"):
        pretrained.to_estimator(object(), tmp_path / "other")


def test_an_estimators_X_is_read_as_documents():
    import pandas as pd

    from albert_sk import AlbertPretrainer
    from albert_sk.pretraining.corpus import estimator_documents

    frame = pd.DataFrame({"a": ["Good.", "Bad."], "b": ["Yes.", "No."]})
    # Rows, not the column names that iterating a DataFrame gives.
    assert estimator_documents(frame) == ["Good.\nYes.", "Bad.\nNo."]
    assert estimator_documents(frame["a"]) == ["Good.", "Bad."]
    assert estimator_documents([("Good.", "Yes.")]) == ["Good.\nYes."]
    assert estimator_documents([["New", "York", "."]]) == ["New York ."]
    qa = [{"question": f"Q{i}?", "context": "Same text."} for i in range(3)]
    assert estimator_documents(qa + [{"question": "Q?", "context": "Other."}]) == [
        "Same text.",
        "Other.",
    ]
    texts = ["plain", "documents"]
    assert estimator_documents(texts) is texts
    pre = AlbertPretrainer(backbone="tiny", vocab_size=64, max_steps=1)
    missing = r"Row 1 .*a missing value \(None or NaN\).*fill missing"
    with pytest.raises(InputError, match=missing):
        pre.fit(pd.DataFrame({"text": ["A fine film.", None]}))
    with pytest.raises(InputError, match="row 1 is"):
        pre.fit([{"question": "Q?", "context": "C."}, {"question": "Q?"}])
    with pytest.raises(InputError, match=r"Row 0 .*int \(3\)"):
        pre.fit([("A text.", 3)])


def test_continue_from_preset_streams_a_generator_in_chunks(
    pretrained, tmp_path, monkeypatch
):
    from albert_sk import AlbertPretrainer

    path = pretrained.save_preset(tmp_path / "preset")
    total, pulled = 3000, []
    base = squad_contexts(40)

    def stream():
        for i in range(total):
            pulled.append(i)
            yield base[i % len(base)]

    seen_at_first_step = []

    import keras

    class Probe(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if not seen_at_first_step:
                seen_at_first_step.append(len(pulled))

    monkeypatch.setattr(AlbertPretrainer, "_chunk_chars", 20_000)
    pre = AlbertPretrainer(
        preset=path,
        max_length=64,
        max_steps=4,
        batch_size=8,
        callbacks=[Probe()],
        random_state=0,
    )
    pre.fit(stream())
    assert pre.n_steps_ == 4
    assert pre.tokenizer_.proto == pretrained.tokenizer_.proto
    # Streamed: training started with a few chunks read, not the corpus.
    assert seen_at_first_step[0] < 200 < total
    assert len(pulled) < total


# === Checkpoints ===

CHILD = """
import sys, time
import keras
from albert_sk import AlbertPretrainer

class Slow(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        print("step", batch + 1, flush=True)
        time.sleep(0.25)

params = {params}
AlbertPretrainer(**params, callbacks=[Slow()]).fit(sys.argv[1])
print("finished", flush=True)
"""


def checkpoint_state(folder):
    with np.load(Path(folder) / "checkpoint.npz") as data:
        return json.loads(str(data["state"]))


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path, capsys):
    from albert_sk import AlbertPretrainer

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(squad_contexts(40)), encoding="utf-8")
    params = dict(
        backbone="tiny",
        vocab_size=300,
        max_length=32,
        max_steps=30,
        batch_size=8,
        checkpoint_dir=str(tmp_path / "ckpt"),
        checkpoint_every=3,
        log_every=2,
        random_state=0,
    )
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD.format(params=repr(params))))
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    steps = []
    with subprocess.Popen(
        [sys.executable, str(script), str(corpus)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as child:
        for line in child.stdout:
            if line.startswith("step"):
                steps.append(int(line.split()[1]))
                if steps[-1] >= 8:
                    child.send_signal(signal.SIGKILL)  # kill -9
                    break
        rest = child.stdout.read()
        child.wait(timeout=60)
    steps += [int(w.split()[1]) for w in rest.splitlines() if w.startswith("step")]
    assert child.returncode == -signal.SIGKILL and "finished" not in rest
    done = steps[-1]
    saved = checkpoint_state(params["checkpoint_dir"])["step"]
    assert done - params["checkpoint_every"] <= saved <= done + 1
    assert not list(Path(params["checkpoint_dir"]).glob("*.part"))  # atomic

    # Resume through the command line: same settings, a progress bar, a summary.
    from albert_sk.cli import main

    out = tmp_path / "preset"
    argv = ["pretrain", "--corpus", str(corpus), "--out", str(out)]
    argv += ["--backbone", "tiny", "--vocab-size", "300", "--max-length", "32"]
    argv += ["--max-steps", "30", "--batch-size", "8", "--seed", "0"]
    argv += ["--checkpoint-dir", params["checkpoint_dir"], "--checkpoint-every", "3"]
    argv += ["--set", "log_every=2", "--hf", str(tmp_path / "hf")]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Pretrained ALBERT for 30 steps" in printed
    assert f"(resumed at step {saved})" in printed
    assert "MLM accuracy" in printed and "SOP accuracy" in printed
    state = checkpoint_state(params["checkpoint_dir"])
    assert state["step"] == 30 and state["history"]["step"] == list(range(2, 31, 2))
    assert (out / "config.json").exists() and (out / "albert_sk.json").exists()
    assert (tmp_path / "hf" / "model.safetensors").exists()
    pre = AlbertPretrainer(**params).fit(corpus)  # finished: nothing left to do
    assert pre.resumed_from_ == 30 and pre.n_steps_ == 30

    # Other settings on the same folder, then a damaged checkpoint.
    with pytest.raises(InputError, match=r"other settings \(max_length=32"):
        AlbertPretrainer(**dict(params, max_length=48)).fit(corpus)
    path = Path(params["checkpoint_dir"]) / "checkpoint.npz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelFileError, match="is damaged.*Delete it to start over"):
        AlbertPretrainer(**params).fit(corpus)


# === Bad input ===


def test_empty_corpus_and_blank_documents_are_refused(tmp_path):
    from albert_sk import AlbertPretrainer

    pre = AlbertPretrainer(backbone="tiny", vocab_size=64, max_length=32)
    with pytest.raises(InputError, match="holds no text"):
        pre.fit(["", "   ", "\n"])
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n\n")
    with pytest.raises(InputError, match="holds no text"):
        pre.fit(empty)
    with pytest.raises(InputError, match="not an existing file"):
        pre.fit(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="document 1 is int"):
        pre.fit(["some text here.", 3])
    with pytest.raises(InputError, match="Pass max_steps"):
        pre.fit(iter(["a generator has no length."]))


def test_small_corpus_caps_the_vocabulary_and_is_too_small_for_sop():
    from albert_sk import AlbertPretrainer

    words = [f"w{i}x" for i in range(300)]
    pre = AlbertPretrainer(backbone="tiny", vocab_size=5000, max_length=32)
    with pytest.warns(VocabularyWarning, match="vocab_size=5000 is more than"):
        with pytest.raises(InputError, match="two or more sentences.*sop=False"):
            pre.fit(words)


def test_preset_directory_missing_files_and_latin1_file(tmp_path):
    from albert_sk import AlbertPretrainer

    (tmp_path / "preset").mkdir()
    (tmp_path / "preset" / "config.json").write_text("{}")
    with pytest.raises(InputError, match=r"missing \['tokenizer.json'"):
        AlbertPretrainer(preset=tmp_path / "preset").fit(["Some text. More."])
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("caf\xe9 au lait. tr\xe8s bon.\n".encode("latin-1"))
    message = r"not UTF-8 text \(byte 0xe9 at line 1\).*iconv"
    with pytest.raises(InputError, match=message):
        AlbertPretrainer(backbone="tiny", vocab_size=64).fit(latin)


def test_export_hf_of_the_pretrainer_has_pretraining_heads(pretrained, tmp_path):
    import keras_hub
    from safetensors.numpy import load_file

    from albert_sk import export_hf

    path = export_hf(pretrained, tmp_path / "hf")
    config = json.loads((Path(path) / "config.json").read_text())
    assert config["architectures"] == ["AlbertForPreTraining"]
    weights = load_file(Path(path) / "model.safetensors")
    assert weights["sop_classifier.classifier.weight"].shape == (2, 64)
    assert weights["predictions.decoder.weight"].shape == (
        pretrained.tokenizer_.vocab_size,
        32,
    )
    backbone = keras_hub.models.AlbertBackbone.from_preset(path)
    x = {
        "token_ids": np.array([[2, 10, 11, 3]], "int32"),
        "segment_ids": np.zeros((1, 4), "int32"),
        "padding_mask": np.ones((1, 4), "int32"),
    }
    np.testing.assert_allclose(
        backbone.predict_on_batch(x)["pooled_output"],
        pretrained.backbone_.predict_on_batch(x)["pooled_output"],
        atol=1e-5,
    )


def test_cli_pretrain_names_a_missing_output_folder(tmp_path, capsys):
    from albert_sk.cli import main

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("One sentence. Two sentences.\n")
    out = tmp_path / "no" / "preset"
    assert main(["pretrain", "--corpus", str(corpus), "--out", str(out)]) == 2
    assert "does not exist. Create it first." in capsys.readouterr().err


def test_sklearn_basics_clone_params_and_not_fitted():
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    from albert_sk import AlbertPretrainer

    pre = AlbertPretrainer(backbone="tiny", optimizer="lamb", max_ngram=2)
    copy = clone(pre)
    assert copy.get_params() == pre.get_params()
    with pytest.raises(NotFittedError, match="not fitted yet"):
        copy.score(["Some text."])
    with pytest.raises(NotFittedError):
        copy.save_preset("x")


@pytest.mark.parametrize("optimizer", ["adamw", "lamb"])
def test_model_ties_the_mlm_head_and_uses_the_optimizer_asked_for(optimizer):
    import keras
    import keras_hub

    from albert_sk import AlbertPretrainer
    from albert_sk.backbones import backbone_config
    from albert_sk.base import LinearWarmupDecay

    config = backbone_config("tiny", vocab_size=100, max_length=32, dropout=0.0)
    backbone = keras_hub.models.AlbertBackbone(**config)
    pre = AlbertPretrainer(backbone="tiny", optimizer=optimizer, warmup_ratio=0.2)
    pre.model_ = pre._build_model(backbone)
    pre._compile(50)
    head = pre.model_.get_layer("mlm_head")
    assert head.token_embedding is backbone.token_embedding  # tied, no own kernel
    assert pre.model_.get_layer("sop").kernel.shape == (backbone.hidden_dim, 2)
    kind = keras.optimizers.Lamb if optimizer == "lamb" else keras.optimizers.AdamW
    assert isinstance(pre.model_.optimizer, kind)
    other = keras.optimizers.AdamW if optimizer == "lamb" else keras.optimizers.Lamb
    assert not isinstance(pre.model_.optimizer, other)
    schedule = pre.model_.optimizer._learning_rate
    assert isinstance(schedule, LinearWarmupDecay)
    assert (schedule.warmup_steps, schedule.total_steps) == (10, 50)
    assert float(schedule(10)) == pytest.approx(1e-3) and float(schedule(50)) == 0.0
