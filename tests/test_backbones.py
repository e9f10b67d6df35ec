"""albert_sk.backbones: from-scratch sizes, keras-hub presets, Hugging Face checkpoints.

Presets are written by the tests themselves (tests/_hf.py): nothing is
downloaded.
"""

import json
import os
import shutil
import socket
import warnings

import keras_hub
import numpy as np
import pytest
from _marks import API_FITS

from albert_sk import AlbertClassifier, backbones
from albert_sk.exceptions import InputError


def _backbone_of(model):
    [backbone] = [
        layer
        for layer in model.layers
        if isinstance(layer, keras_hub.models.AlbertBackbone)
    ]
    return backbone


pytestmark = API_FITS


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test on any attempt to open a network connection."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def _fit_small(preset, sentiment_small, **params):
    params = dict(
        preset=os.fspath(preset),
        max_length=64,
        epochs=1,
        batch_size=16,
        random_state=0,
        **params,
    )
    clf = AlbertClassifier(**params)
    data = sentiment_small[sentiment_small.text.str.split().str.len() <= 8][:32]
    return clf.fit(data.text.tolist(), data.label.to_numpy())


# === From scratch ===


def test_backbone_config_named_sizes():
    config = backbones.backbone_config(
        "tiny", vocab_size=300, max_length=32, dropout=0.2
    )
    assert config == dict(
        backbones.SIZES["tiny"],
        dropout=0.2,
        max_sequence_length=32,
        vocabulary_size=300,
    )


def test_backbone_config_dict_fills_from_small():
    config = backbones.backbone_config(
        {"num_layers": 1, "max_sequence_length": 128},
        vocab_size=300,
        max_length=64,
        dropout=0.0,
    )
    assert config["num_layers"] == 1
    assert config["hidden_dim"] == backbones.SIZES["small"]["hidden_dim"]
    assert config["max_sequence_length"] == 128
    assert config["vocabulary_size"] == 300


def test_backbone_dict_with_unknown_key():
    with pytest.raises(
        InputError,
        match=r"backbone has unknown keys \['hidden_size', 'layers'\]\. Expected "
        r"keras_hub AlbertBackbone arguments among \[",
    ):
        backbones.backbone_config(
            {"layers": 2, "hidden_size": 8, "num_heads": 2},
            vocab_size=100,
            max_length=16,
            dropout=0.0,
        )


def test_backbone_dict_with_unknown_key_through_fit(sentiment_small):
    clf = AlbertClassifier(backbone={"num_layer": 1}, vocab_size=200, max_length=16)
    with pytest.raises(InputError, match=r"unknown keys \['num_layer'\]"):
        clf.fit(sentiment_small.text.tolist(), sentiment_small.label)


def test_backbone_dict_max_sequence_length_too_short():
    with pytest.raises(
        InputError,
        match=r"backbone max_sequence_length=16 is shorter than max_length=32\. "
        r"Lower max_length or raise max_sequence_length",
    ):
        backbones.backbone_config(
            {"max_sequence_length": 16}, vocab_size=100, max_length=32, dropout=0.0
        )


def test_from_scratch_builds_tiny_backbone(sentiment_small):
    backbone, tok = backbones.from_scratch(
        sentiment_small.text.tolist(),
        backbone="tiny",
        vocab_size=200,
        max_length=32,
        dropout=0.0,
        dtype=None,
        seed=0,
    )
    assert backbone.vocabulary_size == tok.vocab_size == 200
    assert backbone.num_layers == backbones.SIZES["tiny"]["num_layers"]
    assert backbone.hidden_dim == backbones.SIZES["tiny"]["hidden_dim"]
    assert backbone.max_sequence_length == 32


# === keras-hub preset directory ===


def test_keras_hub_preset_weights_and_vocabulary(keras_hub_preset_dir):
    path, saved, tok = keras_hub_preset_dir
    backbone, loaded_tok = backbones.from_preset(path, dtype=None, max_length=32)
    assert loaded_tok.proto == tok.proto
    assert (loaded_tok.lowercase, loaded_tok.strip_accents) == (True, True)
    assert backbone.get_config()["hidden_dim"] == saved.hidden_dim
    assert len(backbone.weights) == len(saved.weights)
    for mine, theirs in zip(backbone.weights, saved.weights, strict=True):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=mine.path)


def test_keras_hub_preset_fit_starts_from_preset_weights(
    keras_hub_preset_dir, sentiment_small
):
    path, saved, tok = keras_hub_preset_dir
    # A learning rate this small leaves the weights where fit found them.
    clf = _fit_small(path, sentiment_small, learning_rate=1e-10)
    backbone = _backbone_of(clf.model_)
    expected = saved.token_embedding.embeddings.numpy()
    np.testing.assert_allclose(
        backbone.token_embedding.embeddings.numpy(), expected, atol=1e-6
    )
    assert clf.tokenizer_.proto == tok.proto
    texts = sentiment_small.text.tolist()[:10]
    proba = clf.predict_proba(texts)
    assert proba.shape == (10, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert set(clf.predict(texts)) <= {0, 1}
    # The fitted model is the preset's backbone plus the new head.
    assert _backbone_of(clf.model_).num_layers == saved.num_layers


# === Hugging Face checkpoint directory ===


def test_hf_checkpoint_weights_are_converted(hf_albert_dir):
    path, config, weights, tok = hf_albert_dir
    assert backbones.is_hf_checkpoint(path)
    backbone, loaded_tok = backbones.from_preset(path, dtype=None, max_length=32)
    assert loaded_tok.proto == tok.proto
    assert (loaded_tok.lowercase, loaded_tok.strip_accents) == (True, True)
    assert backbone.vocabulary_size == config["vocab_size"]
    assert backbone.max_sequence_length == config["max_position_embeddings"]
    np.testing.assert_array_equal(
        backbone.token_embedding.embeddings.numpy(),
        weights["albert.embeddings.word_embeddings.weight"],
    )
    layer = backbone.get_layer("group_0_inner_layer_0")
    query = layer._self_attention_layer.query_dense.kernel.numpy()
    hf_query = weights[
        "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.query.weight"
    ]
    # (out, in) in PyTorch; (in, heads, head_dim) in Keras.
    np.testing.assert_array_equal(query, hf_query.T.reshape(query.shape))
    assert query.shape == (32, 2, 16)
    np.testing.assert_array_equal(
        layer._feedforward_intermediate_dense.kernel.numpy(),
        weights["albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight"].T,
    )
    np.testing.assert_array_equal(
        backbone.pooled_dense.kernel.numpy(), weights["albert.pooler.weight"].T
    )


def test_hf_checkpoint_fit_and_predict(hf_albert_dir, sentiment_small):
    path, config, weights, _ = hf_albert_dir
    clf = _fit_small(path, sentiment_small, learning_rate=1e-10)
    np.testing.assert_allclose(
        _backbone_of(clf.model_).token_embedding.embeddings.numpy(),
        weights["albert.embeddings.word_embeddings.weight"],
        atol=1e-6,
    )
    assert clf.predict(sentiment_small.text.tolist()[:7]).shape == (7,)


def test_hf_checkpoint_cased_tokenizer_config(tmp_path, hf_albert_dir):
    path, *_ = hf_albert_dir
    shutil.copytree(path, tmp_path / "cased")
    with open(tmp_path / "cased" / "tokenizer_config.json", "w") as fh:
        json.dump({"do_lower_case": False, "keep_accents": True}, fh)
    _, tok = backbones.from_preset(tmp_path / "cased", dtype=None, max_length=32)
    assert (tok.lowercase, tok.strip_accents) == (False, False)


def _with_activation(tmp_path, hf_albert_dir, act):
    path, *_ = hf_albert_dir
    shutil.copytree(path, tmp_path / act)
    config = json.loads((tmp_path / act / "config.json").read_text())
    config["hidden_act"] = act
    (tmp_path / act / "config.json").write_text(json.dumps(config))
    return tmp_path / act


def test_hf_checkpoint_with_exact_gelu_warns(tmp_path, hf_albert_dir):
    from albert_sk.exceptions import ActivationWarning

    path = _with_activation(tmp_path, hf_albert_dir, "gelu")
    with pytest.warns(ActivationWarning, match="hidden_act='gelu'.*tanh approx"):
        backbones.from_preset(path, dtype=None, max_length=32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ActivationWarning)
        backbones.from_preset(hf_albert_dir[0], dtype=None, max_length=32)


def test_hf_checkpoint_with_another_activation_is_refused(tmp_path, hf_albert_dir):
    path = _with_activation(tmp_path, hf_albert_dir, "relu")
    with pytest.raises(InputError, match="hidden_act='relu'.*computes only"):
        backbones.from_preset(path, dtype=None, max_length=32)


# === Errors ===


def test_unknown_preset_name_does_not_download(no_network):
    clf = AlbertClassifier(preset="albert_gigantic_xx_uncased", max_length=16)
    with pytest.raises(
        InputError,
        match=r"preset='albert_gigantic_xx_uncased' is neither a local directory nor "
        r"a keras-hub ALBERT preset name\. Known names: \[.*'albert_base_en_uncased'",
    ):
        clf.fit(["a b", "c d"], [0, 1])


def test_missing_directory_is_not_a_preset(tmp_path, no_network):
    with pytest.raises(InputError, match=r"is neither a local directory nor"):
        backbones.from_preset(tmp_path / "nowhere", dtype=None, max_length=16)


def test_keras_hub_preset_missing_weights(tmp_path, keras_hub_preset_dir):
    path, *_ = keras_hub_preset_dir
    broken = tmp_path / "broken"
    shutil.copytree(path, broken)
    os.remove(broken / "model.weights.h5")
    with pytest.raises(
        InputError,
        match=r"preset directory .*broken' is missing \['model\.weights\.h5'\]\. "
        r"Expected a keras-hub preset",
    ):
        backbones.from_preset(broken, dtype=None, max_length=16)


def test_empty_directory_is_not_a_preset(tmp_path):
    with pytest.raises(
        InputError,
        match=r"is missing \['config\.json', 'tokenizer\.json', 'model\.weights\.h5'\]",
    ):
        AlbertClassifier(preset=tmp_path, max_length=16).fit(["a", "b"], [0, 1])


def test_hf_checkpoint_missing_files(tmp_path, hf_albert_dir):
    path, *_ = hf_albert_dir
    broken = tmp_path / "broken"
    shutil.copytree(path, broken)
    os.remove(broken / "spiece.model")
    os.remove(broken / "model.safetensors")
    with pytest.raises(
        InputError,
        match=r"is missing \['spiece\.model', 'model\.safetensors'\]\. .*Hugging "
        r"Face ALBERT checkpoint",
    ):
        backbones.from_preset(broken, dtype=None, max_length=16)


def test_hf_checkpoint_of_another_model_type(tmp_path, hf_albert_dir):
    path, config, *_ = hf_albert_dir
    roberta = tmp_path / "roberta"
    shutil.copytree(path, roberta)
    with open(roberta / "config.json", "w") as fh:
        json.dump(dict(config, model_type="roberta"), fh)
    with pytest.raises(
        InputError,
        match=r"is a Hugging Face 'roberta' checkpoint; albert_sk needs model_type "
        r"'albert' \(or 'bert'",
    ):
        AlbertClassifier(preset=roberta, max_length=16).fit(["a", "b"], [0, 1])


@pytest.mark.parametrize("kind", ["albert", "bert"])
def test_pickled_pytorch_weights_are_refused_with_the_fix(
    kind, tmp_path, hf_albert_dir
):
    from _hf import write_hf_bert

    path = tmp_path / kind
    if kind == "albert":
        shutil.copytree(hf_albert_dir[0], path)
    else:
        write_hf_bert(path)
    os.replace(path / "model.safetensors", path / "pytorch_model.bin")
    with pytest.raises(
        InputError,
        match=r"holds its weights in pytorch_model\.bin, a pickle, .*expected "
        r"model\.safetensors\. Convert it once .*save_pretrained",
    ):
        backbones.from_preset(path, dtype=None, max_length=16)


# === BERT checkpoints (their hidden states against transformers' in
# test_transformers.py) ===


@pytest.mark.parametrize("prefix", ["", "bert."])
def test_bert_checkpoint_is_keras_hubs_bert_as_an_unshared_albert(tmp_path, prefix):
    """keras-hub's own BertBackbone computes the same (its GELU is the tanh one
    too): the renaming and the identity projection lose nothing."""
    from _hf import write_hf_bert

    from albert_sk.wordpiece import WordPieceTokenizer

    write_hf_bert(tmp_path, prefix=prefix)
    backbone, tok = backbones.from_preset(tmp_path, dtype=None, max_length=16)
    assert isinstance(tok, WordPieceTokenizer)
    assert (backbone.num_groups, backbone.num_layers) == (2, 2)
    assert backbone.embedding_dim == backbone.hidden_dim == 16
    encoded = tok.pack(
        tok.encode(["The food was not good!", "a great film"]), max_length=16
    )
    batch = encoded.batch(np.arange(2), int(encoded.lengths.max()))
    assert (batch["token_ids"] != tok.unk_id).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # keras-hub's vocab reader
        bert = keras_hub.models.BertBackbone.from_preset(str(tmp_path))
    ours, theirs = backbone.predict_on_batch(batch), bert.predict_on_batch(batch)
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(ours[key], theirs[key], atol=1e-5)
        assert np.abs(theirs[key]).mean() > 0.1


def test_bert_checkpoint_fits_in_the_regressor_and_qa(tmp_path):
    """(The classifier, vectorizer and tagger: test_transformers.py.)"""
    from _hf import write_hf_bert

    from albert_sk import AlbertQA, AlbertRegressor

    write_hf_bert(tmp_path, prefix="bert.")
    texts = ["the food was good .", "the film was not very good !", "a bad movie"]
    reg = AlbertRegressor(preset=str(tmp_path), max_length=16, epochs=1)
    assert reg.fit(texts * 2, [1.0, 0.0, -1.0] * 2).predict(texts).shape == (3,)
    context = "the film was good . the food was bad ."
    X = [{"question": "what was bad ?", "context": context}] * 4
    y = [{"text": "the food", "answer_start": context.index("the food")}] * 4
    qa = AlbertQA(preset=str(tmp_path), max_length=32, max_query_length=8, epochs=1)
    for answer in qa.fit(X, y).predict_spans(X[:1])[0]:
        assert context[answer["start"] : answer["end"]] == answer["answer"]


def test_bert_checkpoint_errors(tmp_path):
    from _hf import write_hf_bert

    from albert_sk.backbones import bert_as_albert

    config, weights = write_hf_bert(tmp_path / "a", prefix="bert.")
    del weights["bert.encoder.layer.1.output.dense.bias"]
    with pytest.raises(
        InputError,
        match=r"without the weights \['bert\.encoder\.layer\.1\.output\.dense"
        r"\.bias'\] \(1 missing\)",
    ):
        bert_as_albert(config, weights)
    relative = dict(config, position_embedding_type="relative_key")
    with pytest.raises(InputError, match="position_embedding_type='relative_key'"):
        bert_as_albert(relative, weights)
    os.remove(tmp_path / "a" / "vocab.txt")
    with pytest.raises(InputError, match=r"is missing \['vocab\.txt'\]"):
        backbones.from_preset(tmp_path / "a", dtype=None, max_length=16)


@pytest.mark.parametrize("kind", ["keras_hub", "hf"])
def test_max_length_longer_than_preset(kind, keras_hub_preset_dir, hf_albert_dir):
    path = (keras_hub_preset_dir if kind == "keras_hub" else hf_albert_dir)[0]
    clf = AlbertClassifier(preset=path, max_length=128)
    with pytest.raises(
        InputError,
        match=r"max_length=128 is longer than the preset's max_sequence_length=64\. "
        r"Lower max_length",
    ):
        clf.fit(["good", "bad"], [1, 0])
