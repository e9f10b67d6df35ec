"""export_hf writes Hugging Face ALBERT checkpoints keras-hub reads back identically;
fine-tuned Hugging Face heads are imported when they fit."""

import json
from pathlib import Path

import numpy as np
import pytest

from albert_sk.exceptions import InputError, NotFittedError

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

    clf = AlbertClassifier(
        backbone="tiny", vocab_size=300, max_length=64, epochs=2, random_state=0
    )
    labels = np.where(sentiment_small.label == 1, "pos", "neg")
    return clf.fit(sentiment_small.text, labels)


def backbone_of(estimator):
    from albert_sk.hf import _find_backbone

    return _find_backbone(estimator.model_)


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
    from albert_sk.hf import import_head

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
    from albert_sk.hf import import_head

    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(2, 8)).astype("float32"), np.array([1.0, 2.0])
    write_head(tmp_path / "qa", "qa_outputs", weight, bias.astype("float32"))
    qa = AlbertQA()
    qa.model_ = head_model("span_logits", 2)
    assert import_head(qa, tmp_path / "qa") == ["qa_outputs.bias", "qa_outputs.weight"]
    layer = qa.model_.get_layer("span_logits")
    np.testing.assert_allclose(np.asarray(layer.kernel), weight.T)
    np.testing.assert_allclose(np.asarray(layer.bias), bias)

    # AlbertForTokenClassification: rows follow id2label, reordered to classes_.
    weight = rng.normal(size=(3, 8)).astype("float32")
    labels = {"0": "O", "1": "B-PER", "2": "I-PER"}
    write_head(tmp_path / "ner", "classifier", weight, np.zeros(3, "float32"), labels)
    tagger = AlbertTagger()
    tagger.classes_ = np.array(["B-PER", "I-PER", "O"])
    tagger.model_ = head_model("logits", 3)
    assert import_head(tagger, tmp_path / "ner") == [
        "classifier.bias",
        "classifier.weight",
    ]
    kernel = np.asarray(tagger.model_.get_layer("logits").kernel)
    np.testing.assert_allclose(kernel, weight[[1, 2, 0]].T)
    # A head with another number of labels is not forced in.
    tagger.classes_ = np.array(["B-LOC", "I-LOC", "B-PER", "I-PER", "O"])
    tagger.model_ = head_model("logits", 5)
    with pytest.warns(UserWarning, match="does not match this AlbertTagger"):
        assert import_head(tagger, tmp_path / "ner") == []
