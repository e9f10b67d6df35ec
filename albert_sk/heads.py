"""Task heads on the backbone's ``pooled_output`` / ``sequence_output``.

Built from stock Keras layers only, so saved models load in ``safe_mode``
without custom objects.
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
