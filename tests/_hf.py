"""Write tiny Hugging Face ALBERT and BERT checkpoints (and keras-hub presets).

``write_hf_albert`` lays out what ``transformers.AlbertModel.save_pretrained``
plus ``AlbertTokenizer.save_pretrained`` write: ``config.json``,
``model.safetensors`` (weights under Hugging Face's names and PyTorch
``(out, in)`` layouts) and ``spiece.model``; ``write_hf_bert`` what
``BertModel`` and ``BertTokenizer`` write, with a ``vocab.txt``. No network,
no transformers.
"""

import json
import os

import numpy as np
from safetensors.numpy import save_file

from albert_sk.text import train_sentencepiece

TINY_HF = dict(
    embedding_size=16,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=64,
    num_hidden_groups=1,
    inner_group_num=1,
    max_position_embeddings=64,
    type_vocab_size=2,
)


def hf_config(vocab_size, **overrides):
    """A config.json as a real ``transformers.AlbertConfig`` writes it."""
    config = dict(
        architectures=["AlbertModel"],
        model_type="albert",
        vocab_size=int(vocab_size),
        hidden_act="gelu_new",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        classifier_dropout_prob=0.1,
        position_embedding_type="absolute",
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
        torch_dtype="float32",
        transformers_version="4.40.0",
        **TINY_HF,
    )
    config.update(overrides)
    return config


def hf_weights(config, seed=0):
    """Random float32 weights named and shaped as Hugging Face's ALBERT."""
    rng = np.random.default_rng(seed)
    e, h = config["embedding_size"], config["hidden_size"]
    i = config["intermediate_size"]

    def w(*shape):
        return (rng.standard_normal(shape) * 0.02).astype("float32")

    def ones(n):
        return (1.0 + rng.standard_normal(n) * 0.01).astype("float32")

    weights = {
        "albert.embeddings.word_embeddings.weight": w(config["vocab_size"], e),
        "albert.embeddings.position_embeddings.weight": w(
            config["max_position_embeddings"], e
        ),
        "albert.embeddings.token_type_embeddings.weight": w(
            config["type_vocab_size"], e
        ),
        "albert.embeddings.LayerNorm.weight": ones(e),
        "albert.embeddings.LayerNorm.bias": w(e),
        # Hugging Face keeps this buffer in its checkpoints; keras-hub ignores it.
        "albert.embeddings.position_ids": np.arange(
            config["max_position_embeddings"], dtype="int64"
        )[None],
        "albert.encoder.embedding_hidden_mapping_in.weight": w(h, e),
        "albert.encoder.embedding_hidden_mapping_in.bias": w(h),
        "albert.pooler.weight": w(h, h),
        "albert.pooler.bias": w(h),
    }
    for g in range(config["num_hidden_groups"]):
        for k in range(config["inner_group_num"]):
            p = f"albert.encoder.albert_layer_groups.{g}.albert_layers.{k}."
            for name in ("query", "key", "value", "dense"):
                weights[f"{p}attention.{name}.weight"] = w(h, h)
                weights[f"{p}attention.{name}.bias"] = w(h)
            weights[f"{p}attention.LayerNorm.weight"] = ones(h)
            weights[f"{p}attention.LayerNorm.bias"] = w(h)
            weights[f"{p}ffn.weight"] = w(i, h)
            weights[f"{p}ffn.bias"] = w(i)
            weights[f"{p}ffn_output.weight"] = w(h, i)
            weights[f"{p}ffn_output.bias"] = w(h)
            weights[f"{p}full_layer_layer_norm.weight"] = ones(h)
            weights[f"{p}full_layer_layer_norm.bias"] = w(h)
    return weights


def write_hf_albert(path, texts, *, vocab_size=300, seed=0, **config_overrides):
    """Write a tiny HF ALBERT checkpoint with a vocabulary trained on ``texts``.

    Returns ``(config, weights, tokenizer)`` as written.
    """
    os.makedirs(path, exist_ok=True)
    tokenizer = train_sentencepiece(texts, vocab_size, seed=seed)
    config = hf_config(tokenizer.vocab_size, **config_overrides)
    weights = hf_weights(config, seed=seed)
    with open(os.path.join(path, "config.json"), "w", encoding="utf-8") as fh:
        json.dump(config, fh, indent=2)
    save_file(weights, os.path.join(path, "model.safetensors"), {"format": "pt"})
    with open(os.path.join(path, "spiece.model"), "wb") as fh:
        fh.write(tokenizer.proto)
    tokenizer_config = dict(
        do_lower_case=True,
        keep_accents=False,
        remove_space=True,
        model_max_length=config["max_position_embeddings"],
        tokenizer_class="AlbertTokenizer",
    )
    with open(os.path.join(path, "tokenizer_config.json"), "w", encoding="utf-8") as fh:
        json.dump(tokenizer_config, fh, indent=2)
    return config, weights, tokenizer


def write_keras_hub_preset(path, texts, *, vocab_size=300, seed=0, **backbone_args):
    """Save a tiny ``AlbertBackbone`` + ``AlbertTokenizer`` with ``save_to_preset``.

    Returns ``(backbone, tokenizer)``; the albert_sk tokenizer is trained on
    ``texts``.
    """
    import keras
    import keras_hub

    keras.utils.set_random_seed(seed)
    tokenizer = train_sentencepiece(texts, vocab_size, seed=seed)
    args = dict(
        num_layers=2,
        num_heads=2,
        embedding_dim=16,
        hidden_dim=32,
        intermediate_dim=64,
        max_sequence_length=64,
        dropout=0.0,
    )
    args.update(backbone_args)
    backbone = keras_hub.models.AlbertBackbone(
        vocabulary_size=tokenizer.vocab_size, **args
    )
    os.makedirs(path, exist_ok=True)
    backbone.save_to_preset(path)
    keras_hub.models.AlbertTokenizer(proto=tokenizer.proto).save_to_preset(path)
    return backbone, tokenizer


def hf_inputs(batch):
    """albert_sk's padded batch as transformers' keyword arguments (torch tensors)."""
    import torch

    return {
        "input_ids": torch.as_tensor(batch["token_ids"], dtype=torch.long),
        "token_type_ids": torch.as_tensor(batch["segment_ids"], dtype=torch.long),
        "attention_mask": torch.as_tensor(batch["padding_mask"], dtype=torch.long),
    }


BERT_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "the a good bad movie film was is not very great food service ##s ##ly ##ing "
    ". , ! ? i it this and".split()
)


def write_hf_bert(path, *, seed=0, prefix="", **config_overrides):
    """A tiny ``BertModel`` checkpoint: config.json, model.safetensors (keys
    under ``prefix``, "" as ``BertModel`` writes them, "bert." for the task
    models), vocab.txt and tokenizer_config.json. Returns ``(config, weights)``.
    """
    rng = np.random.default_rng(seed)
    config = dict(
        architectures=["BertModel"],
        model_type="bert",
        vocab_size=len(BERT_VOCAB),
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        hidden_act="gelu_new",
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        max_position_embeddings=64,
        type_vocab_size=2,
        initializer_range=0.02,
        layer_norm_eps=1e-12,
        position_embedding_type="absolute",
        pad_token_id=0,
    )
    config.update(config_overrides)
    h, i = config["hidden_size"], config["intermediate_size"]

    def w(*shape):
        return (rng.standard_normal(shape) * 0.2).astype("float32")

    def ones(n):
        return (1.0 + rng.standard_normal(n) * 0.3).astype("float32")

    weights = {
        "embeddings.word_embeddings.weight": w(config["vocab_size"], h),
        "embeddings.position_embeddings.weight": w(
            config["max_position_embeddings"], h
        ),
        "embeddings.token_type_embeddings.weight": w(config["type_vocab_size"], h),
        "embeddings.LayerNorm.weight": ones(h),
        "embeddings.LayerNorm.bias": w(h),
        "pooler.dense.weight": w(h, h),
        "pooler.dense.bias": w(h),
    }
    shapes = {
        "attention.self.query": (h, h),
        "attention.self.key": (h, h),
        "attention.self.value": (h, h),
        "attention.output.dense": (h, h),
        "intermediate.dense": (i, h),
        "output.dense": (h, i),
    }
    for k in range(config["num_hidden_layers"]):
        layer = f"encoder.layer.{k}."
        for name, shape in shapes.items():
            weights[f"{layer}{name}.weight"] = w(*shape)
            weights[f"{layer}{name}.bias"] = w(shape[0])
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[f"{layer}{norm}.weight"] = ones(h)
            weights[f"{layer}{norm}.bias"] = w(h)
    weights = {f"{prefix}{k}": v for k, v in weights.items()}
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "config.json"), "w", encoding="utf-8") as fh:
        json.dump(config, fh, indent=2)
    save_file(weights, os.path.join(path, "model.safetensors"), {"format": "pt"})
    with open(os.path.join(path, "vocab.txt"), "w", encoding="utf-8") as fh:
        fh.write("".join(f"{t}\n" for t in BERT_VOCAB))
    with open(os.path.join(path, "tokenizer_config.json"), "w", encoding="utf-8") as fh:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, fh)
    return config, weights
