"""Task heads on the backbone's ``pooled_output`` / ``sequence_output``.

Built from stock Keras layers only, so saved models load in ``safe_mode``
without custom objects.
"""

import keras


def dense_head(features, units, *, dropout, name):
    """Dropout then a float32 ``Dense`` (logits stay float32 under mixed precision)."""
    x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(features)
    return keras.layers.Dense(
        units,
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
        dtype="float32",
        name=name,
    )(x)
