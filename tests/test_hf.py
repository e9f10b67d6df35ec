"""export_hf writes Hugging Face ALBERT checkpoints keras-hub reads back identically;
fine-tuned Hugging Face heads are imported when they fit."""

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from _marks import API_FITS

from albert_sk.exceptions import InputError, NotFittedError

pytestmark = API_FITS

X = {
    "token_ids": np.array([[2, 10, 11, 12, 13, 3, 0, 0]], "int32"),
    "segment_ids": np.zeros((1, 8), "int32"),
    "padding_mask": np.array([[1, 1, 1, 1, 1, 1, 0, 0]], "int32"),
}


def hub_tokenizer(path):
    """keras-hub's AlbertTokenizer of a preset (it leaves the vocabulary open)."""
    import warnings

    import keras_hub

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        return keras_hub.models.AlbertTokenizer.from_preset(path)


@pytest.fixture(scope="module")
def classifier(sentiment_small):
    from albert_sk import AlbertClassifier

    # Exported heads read the [CLS] pooler; from scratch "auto" pools the mean.
    clf = AlbertClassifier(
        backbone="tiny",
        vocab_size=300,
        max_length=64,
        epochs=2,
        pooling="cls",
        random_state=0,
    )
    labels = np.where(sentiment_small.label == 1, "pos", "neg")
    return clf.fit(sentiment_small.text, labels)


def backbone_of(estimator):
    from albert_sk.efficiency import find_backbone

    return find_backbone(estimator.model_)


def test_export_reads_back_through_keras_hubs_transformers_converter(
    classifier, tmp_path
):
    import keras_hub
    from safetensors.numpy import load_file

    from albert_sk import export_hf

    path = Path(export_hf(classifier, tmp_path / "hf"))
    assert {p.name for p in path.iterdir()} == {
        "config.json",
        "model.safetensors",
        "spiece.model",
        "tokenizer_config.json",
        "special_tokens_map.json",
    }
    config = json.loads((path / "config.json").read_text())
    assert config["architectures"] == ["AlbertForSequenceClassification"]
    assert config["id2label"] == {"0": "neg", "1": "pos"}
    assert config["label2id"] == {"neg": 0, "pos": 1}
    weights = load_file(path / "model.safetensors")
    assert weights["classifier.weight"].shape == (2, 64)
    assert "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight" in weights
    tok_config = json.loads((path / "tokenizer_config.json").read_text())
    assert tok_config["do_lower_case"] is True and tok_config["keep_accents"] is False

    backbone = keras_hub.models.AlbertBackbone.from_preset(str(path))
    tokenizer = hub_tokenizer(str(path))
    assert tokenizer.vocabulary_size() == classifier.tokenizer_.vocab_size
    ours = backbone_of(classifier).predict_on_batch(X)
    theirs = backbone.predict_on_batch(X)
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(theirs[key], ours[key], atol=1e-5)


def test_classifier_continues_from_the_exported_head(
    classifier, tmp_path, sentiment_small
):
    from albert_sk import AlbertClassifier, export_hf

    path = export_hf(classifier, tmp_path / "hf")
    texts = sentiment_small.text[:40]
    labels = np.where(sentiment_small.label[:40] == 1, "pos", "neg")
    # A learning rate this small leaves the imported weights where they are.
    again = AlbertClassifier(
        preset=path, max_length=64, epochs=1, learning_rate=1e-12, dropout=0.0
    )
    again.fit(texts, labels)
    np.testing.assert_allclose(
        again.predict_proba(texts), classifier.predict_proba(texts), atol=1e-4
    )

    # Labels of another task do not fit the head: warned, not imported.
    from albert_sk.pretrained_heads import import_head

    again.classes_ = np.array(["ham", "spam"])
    with pytest.warns(UserWarning, match="'classifier' head .* trained from scratch"):
        assert import_head(again, path) == []
    again.classes_ = np.array(["pos", "neg"])  # same labels, other order
    assert import_head(again, path) == ["classifier.bias", "classifier.weight"]
    logits = again.model_.get_layer("logits")
    original = classifier.model_.get_layer("logits")
    np.testing.assert_allclose(
        np.asarray(logits.kernel)[:, ::-1], np.asarray(original.kernel), atol=1e-6
    )


def test_export_of_a_keras_hub_preset_and_bad_arguments(keras_hub_preset_dir, tmp_path):
    import keras_hub

    from albert_sk import AlbertClassifier, export_hf

    preset, backbone, _ = keras_hub_preset_dir
    path = export_hf(preset, tmp_path / "from_preset")
    config = json.loads((Path(path) / "config.json").read_text())
    assert config["architectures"] == ["AlbertModel"]
    assert config["num_hidden_layers"] == backbone.num_layers
    again = keras_hub.models.AlbertBackbone.from_preset(path)
    x = dict(X, token_ids=np.minimum(X["token_ids"], backbone.vocabulary_size - 1))
    np.testing.assert_allclose(
        again.predict_on_batch(x)["sequence_output"],
        backbone.predict_on_batch(x)["sequence_output"],
        atol=1e-5,
    )
    with pytest.raises(NotFittedError, match="fit it before export_hf"):
        export_hf(AlbertClassifier(), tmp_path / "x")
    with pytest.raises(InputError, match="expects a fitted albert_sk estimator"):
        export_hf(object(), tmp_path / "x")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export_hf(preset, tmp_path / "no" / "such" / "dir")


def test_export_refuses_a_head_on_mean_pooled_features(classifier, tmp_path):
    """transformers' sequence-classification head reads the [CLS] pooler; a
    classifier that pools the mean of its tokens cannot be written as one."""
    from albert_sk import export_hf

    mean = pickle.loads(pickle.dumps(classifier)).set_params(pooling="mean")
    assert mean.pooling_ == "mean" and classifier.pooling_ == "cls"
    with pytest.raises(InputError, match="pooling='cls'"):
        export_hf(mean, tmp_path / "mean")
    assert not (tmp_path / "mean").exists()


def test_export_of_a_bert_checkpoint_is_an_unshared_albert(tmp_path):
    """export_hf of a BERT preset: ALBERT names, one group per layer, the
    identity projection, the WordPiece vocab.txt; keras-hub reads it back."""
    import keras_hub
    from _hf import write_hf_bert
    from safetensors.numpy import load_file

    from albert_sk import backbones, export_hf

    write_hf_bert(tmp_path / "bert", hidden_act="gelu_pytorch_tanh")
    backbone, _ = backbones.from_preset(tmp_path / "bert", dtype=None, max_length=8)
    path = Path(export_hf(tmp_path / "bert", tmp_path / "hf"))
    config = json.loads((path / "config.json").read_text())
    assert config["model_type"] == "albert" and config["hidden_act"] == "gelu_new"
    assert config["num_hidden_groups"] == config["num_hidden_layers"] == 2
    assert config["embedding_size"] == config["hidden_size"] == 16
    weights = load_file(path / "model.safetensors")
    mapping = "albert.encoder.embedding_hidden_mapping_in"
    np.testing.assert_array_equal(weights[f"{mapping}.weight"], np.eye(16))
    assert "albert.encoder.albert_layer_groups.1.albert_layers.0.ffn.weight" in weights
    assert (path / "vocab.txt").read_bytes() == (
        tmp_path / "bert/vocab.txt"
    ).read_bytes()
    again = keras_hub.models.AlbertBackbone.from_preset(str(path))
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(
            again.predict_on_batch(X)[key], backbone.predict_on_batch(X)[key], atol=1e-6
        )


def head_model(name, units, hidden=8):
    import keras

    features = keras.Input(shape=(hidden,))
    return keras.Model(features, keras.layers.Dense(units, name=name)(features))


def write_head(path, prefix, weight, bias, id2label=None):
    from safetensors.numpy import save_file

    path.mkdir()
    tensors = {f"{prefix}.weight": weight, f"{prefix}.bias": bias}
    save_file(tensors, str(path / "model.safetensors"), metadata={"format": "pt"})
    config = {"model_type": "albert"}
    if id2label:
        config["id2label"] = id2label
    (path / "config.json").write_text(json.dumps(config))


def test_question_answering_and_token_classification_heads_are_imported(tmp_path):
    from albert_sk import AlbertQA, AlbertTagger
    from albert_sk.pretrained_heads import import_head

    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(2, 8)).astype("float32"), np.array([1.0, 2.0])
    write_head(tmp_path / "qa", "qa_outputs", weight, bias.astype("float32"))
    qa = AlbertQA()
    qa.model_ = head_model("span_logits", 2)
    assert import_head(qa, tmp_path / "qa") == ["qa_outputs.bias", "qa_outputs.weight"]
    layer = qa.model_.get_layer("span_logits")
    np.testing.assert_allclose(np.asarray(layer.kernel), weight.T)
    np.testing.assert_allclose(np.asarray(layer.bias), bias)

    # AlbertForTokenClassification: rows follow id2label, reordered to the
    # head's columns, labels_ (IOB2), which is not classes_ (the user's scheme).
    weight = rng.normal(size=(3, 8)).astype("float32")
    labels = {"0": "O", "1": "B-PER", "2": "I-PER"}
    write_head(tmp_path / "ner", "classifier", weight, np.zeros(3, "float32"), labels)
    tagger = AlbertTagger(scheme="BIOES")
    tagger.classes_ = np.array(["B-PER", "E-PER", "O", "S-PER"])
    tagger.labels_ = np.array(["B-PER", "I-PER", "O"])
    tagger.model_ = head_model("logits", 3)
    assert import_head(tagger, tmp_path / "ner") == [
        "classifier.bias",
        "classifier.weight",
    ]
    kernel = np.asarray(tagger.model_.get_layer("logits").kernel)
    np.testing.assert_allclose(kernel, weight[[1, 2, 0]].T)
    # A head with another number of labels is not forced in.
    tagger.labels_ = np.array(["B-LOC", "I-LOC", "B-PER", "I-PER", "O"])
    tagger.model_ = head_model("logits", 5)
    with pytest.warns(UserWarning, match="does not match this AlbertTagger"):
        assert import_head(tagger, tmp_path / "ner") == []


# Export tests check the mapping of weights, not learning: one epoch is enough.
quick = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@quick
def test_tagger_export_labels_each_row_with_labels_(tmp_path, sentiment_small):
    from safetensors.numpy import load_file

    from albert_sk import AlbertTagger, export_hf, pretrained_heads

    X = [text.split() for text in sentiment_small.text if len(text.split()) > 2]
    y = [["S-PER"] + ["O"] * (len(w) - 1) for w in X[:40]]
    y += [["B-LOC", "E-LOC"] + ["O"] * (len(w) - 2) for w in X[40:]]
    tagger = AlbertTagger(
        backbone="tiny",
        vocab_size=150,
        max_length=32,
        epochs=1,
        scheme="BIOES",
        transitions="counted",  # read without transitions: no ExportWarning
    )
    tagger.fit(X, y)
    # BIOES is learned as written; the export names its rows in IOB2, which
    # transformers' pipelines group into entities (E-LOC continues B-LOC).
    assert tagger.classes_.tolist() == ["B-LOC", "E-LOC", "O", "S-PER"]
    assert tagger.labels_.tolist() == ["B-LOC", "E-LOC", "O", "S-PER"]
    path = Path(export_hf(tagger, tmp_path / "ner"))
    config = json.loads((path / "config.json").read_text())
    labels = ["B-LOC", "I-LOC", "O", "B-PER"]
    assert config["num_labels"] == len(labels)
    assert config["id2label"] == {str(i): label for i, label in enumerate(labels)}
    assert config["label2id"] == {label: i for i, label in enumerate(labels)}
    # albert_sk reads the tags the head learned back, row for row
    assert config["albert_sk_labels"] == tagger.labels_.tolist()

    assert pretrained_heads._head_rows(config, tagger.labels_) == [0, 1, 2, 3]
    weight = load_file(path / "model.safetensors")["classifier.weight"]
    kernel = np.asarray(tagger.model_.get_layer("logits").kernel)
    np.testing.assert_array_equal(weight, kernel.T)


@quick
def test_regressor_export_is_in_target_units(tmp_path, sentiment_small):
    import keras_hub
    from safetensors.numpy import load_file

    from albert_sk import AlbertRegressor, export_hf

    texts = sentiment_small.text.tolist()
    stars = sentiment_small.label.to_numpy() * 100.0 + np.arange(len(texts)) + 1000
    reg = AlbertRegressor(
        backbone="tiny", vocab_size=150, max_length=64, epochs=1, pooling="cls"
    )
    reg.fit(texts, stars)
    path = export_hf(reg, tmp_path / "reg")
    config = json.loads((Path(path) / "config.json").read_text())
    assert config["problem_type"] == "regression" and config["num_labels"] == 1
    weights = load_file(Path(path) / "model.safetensors")
    backbone = keras_hub.models.AlbertBackbone.from_preset(path)
    tok = reg.tokenizer_
    encoded = tok.pack(tok.encode(texts[:4]), max_length=64)
    batch = encoded.batch(np.arange(4), int(encoded.lengths.max()))
    pooled = np.asarray(backbone.predict_on_batch(batch)["pooled_output"])
    hf_out = pooled @ weights["classifier.weight"].T + weights["classifier.bias"]
    np.testing.assert_allclose(hf_out[:, 0], reg.predict(texts[:4]), rtol=1e-5)

    # Imported into a regressor whose targets were standardised otherwise, the
    # head is rescaled to them: same predictions in target units.
    from albert_sk.pretrained_heads import import_head

    expected = reg.predict(texts[:4])
    again = AlbertRegressor()
    again.model_ = reg.model_  # reg's own model gets the imported head
    again.y_mean_, again.y_scale_ = np.array([3.0]), np.array([0.5])
    assert import_head(again, path) == ["classifier.bias", "classifier.weight"]
    z = reg._predict_outputs(texts[:4])[:, 0]
    np.testing.assert_allclose(z * 0.5 + 3.0, expected, rtol=1e-5)


def test_keras_hub_private_attributes_that_hf_reads_exist():
    """Fails on a keras-hub upgrade that moves them (pyproject bounds keras-hub)."""
    import keras
    import keras_hub

    from albert_sk.export.hf import KERAS_HUB_INTERNALS, check_keras_hub_internals

    backbone = keras_hub.models.AlbertBackbone(
        vocabulary_size=20,
        num_layers=1,
        num_heads=1,
        embedding_dim=4,
        hidden_dim=4,
        intermediate_dim=8,
        max_sequence_length=8,
    )
    head = keras_hub.layers.MaskedLMHead(
        vocabulary_size=20, token_embedding=backbone.token_embedding
    )
    head(np.zeros((1, 8, 4), "float32"), np.zeros((1, 2), "int32"))
    layer = backbone.get_layer("group_0_inner_layer_0")
    assert set(KERAS_HUB_INTERNALS) == {type(layer).__name__, type(head).__name__}
    check_keras_hub_internals(layer)  # raises RuntimeError naming what moved
    check_keras_hub_internals(head)

    class Moved(keras.layers.Layer):
        pass

    Moved.__name__ = "TransformerEncoder"
    with pytest.raises(RuntimeError, match=r"moved the TransformerEncoder .*"):
        check_keras_hub_internals(Moved())
