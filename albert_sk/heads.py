"""Every Keras head on the backbone: dense, token, span, mean pooling, MLM, SOP.

Built from stock Keras and keras-hub layers (and one registered albert_sk
activation), so saved models load in ``safe_mode``.
"""

import keras


def mean_pool(sequence, padding_mask, *, name="mean_pool"):
    """The mean of the token vectors that ``padding_mask`` marks, per row."""
    return keras.layers.GlobalAveragePooling1D(name=name)(sequence, mask=padding_mask)


def dense_head(features, units, *, dropout, name):
    """Dropout then a float32 ``Dense`` (logits stay float32 under mixed precision)."""
    x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(features)
    return keras.layers.Dense(
        units,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        dtype="float32",
        name=name,
    )(x)


# === Pretraining heads ===


@keras.saving.register_keras_serializable(package="albert_sk")
def gelu_new(x):
    """The tanh approximation of GELU, ALBERT's ``hidden_act="gelu_new"``."""
    return keras.activations.gelu(x, approximate=True)


def mlm_head(backbone, sequence, mask_positions, *, name="mlm"):
    """Masked-language-model logits at ``mask_positions``, as ``AlbertMaskedLM``.

    keras-hub's ``MaskedLMHead`` with its output projection tied to the
    backbone's token embedding; logits come out float32.
    """
    import keras_hub

    head = keras_hub.layers.MaskedLMHead(
        vocabulary_size=backbone.vocabulary_size,
        token_embedding=backbone.token_embedding,
        intermediate_activation=gelu_new,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        layer_norm_epsilon=1e-12,
        dtype=backbone.dtype_policy,
        name=f"{name}_head",
    )
    logits = head(sequence, mask_positions)
    return keras.layers.Activation("linear", dtype="float32", name=name)(logits)


def sop_head(pooled, *, dropout, name="sop"):
    """Sentence-order prediction logits (in order / swapped) on ``pooled_output``."""
    return dense_head(pooled, 2, dropout=dropout, name=name)
