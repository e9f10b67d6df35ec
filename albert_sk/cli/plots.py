"""PNG figures for the command line and the demo (matplotlib, Agg backend).

Each function draws one figure into a file and returns its path. matplotlib
is imported inside the functions (it is a core dependency, but importing it
costs half a second that ``import albert_sk`` should not pay), and the
non-interactive Agg backend is selected there, so nothing here needs a
display.
"""

import os

DPI = 110
TRAINING, VALIDATION = "#1f77b4", "#ff7f0e"
# History entries that are settings, not how well the model fits.
NOT_CURVES = ("learning_rate", "lr")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    from albert_sk._files import atomic_write

    path = os.path.abspath(os.fspath(path))
    with atomic_write(path) as fh:
        fig.savefig(fh, dpi=DPI, format="png")
    _pyplot().close(fig)
    return path


def _epoch_ticks(ax, n):
    step = max(1, -(-n // 12))  # at most ~12 labelled ticks
    ax.set_xticks(list(range(1, n + 1, step)))


def learning_curves(history, path, title):
    """Loss and every other metric of ``history`` (Keras ``history_``) per epoch.

    One panel per metric: the training curve, and the validation curve
    (``val_<metric>``) where there is one. Returns ``path``.
    """
    plt = _pyplot()
    metrics = [
        k
        for k in history
        if not k.startswith("val_") and k not in NOT_CURVES and history[k]
    ]
    metrics.sort(key=lambda k: (k != "loss", k))
    if not metrics:
        raise ValueError("history_ holds no metric to plot")
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(4.6 * len(metrics), 3.6), squeeze=False
    )
    for ax, metric in zip(axes[0], metrics, strict=True):
        values = history[metric]
        epochs = range(1, len(values) + 1)
        ax.plot(epochs, values, marker="o", color=TRAINING, label="training")
        if history.get(f"val_{metric}"):
            val = history[f"val_{metric}"]
            ax.plot(
                range(1, len(val) + 1),
                val,
                marker="o",
                color=VALIDATION,
                label="validation",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric.replace("_", " "))
        _epoch_ticks(ax, len(values))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def confusion_matrix(y_true, y_pred, labels, path, title):
    """Counts of (true, predicted) class pairs, labels on both axes."""
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    labels = list(labels)
    names = [str(label) for label in labels]
    side = min(12.0, max(4.8, 0.55 * len(labels) + 2.5))
    fig, ax = plt.subplots(figsize=(side, side * 0.9))
    # Tilt the predicted-class names only where they would run into each other.
    longest = max(map(len, names), default=0)
    tilt = longest * 0.09 > side * 0.75 / max(len(labels), 1)
    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=labels,
        display_labels=names,
        cmap="Blues",
        colorbar=False,
        ax=ax,
    )
    if tilt:
        plt.setp(ax.get_xticklabels(), rotation=40, ha="right", rotation_mode="anchor")
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def entity_f1_bars(report, path, title):
    """Horizontal F1 bars per entity type, from :func:`albert_sk.metrics.entity_report`.

    Each bar is labelled with its F1 and the number of gold entities
    (support); the micro average is a dashed line, its value in the title.
    """
    plt = _pyplot()
    averages = ("micro avg", "macro avg", "weighted avg")
    types = [name for name in report.index if name not in averages]
    f1 = [float(report.loc[t, "f1-score"]) for t in types]
    support = [int(report.loc[t, "support"]) for t in types]
    fig, ax = plt.subplots(figsize=(6.4, 1.6 + 0.45 * max(len(types), 1)))
    positions = list(range(len(types)))[::-1]  # first type on top
    ax.barh(positions, f1, color=TRAINING, height=0.6)
    for y, value, n in zip(positions, f1, support, strict=True):
        ax.text(
            min(value, 1.0) + 0.01, y, f"{value:.2f}  (n={n})", va="center", fontsize=9
        )
    ax.set_yticks(positions, types)
    ax.set_xlim(0, 1.18)
    ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_xlabel("F1 (strict, entity level)")
    if types and "micro avg" in report.index:
        micro = float(report.loc["micro avg", "f1-score"])
        ax.axvline(micro, color="0.35", linestyle="--", linewidth=1)
        title = f"{title}\nmicro average F1 {micro:.2f} (dashed line)"
    if not types:
        ax.text(
            0.5,
            0.5,
            "no entities, gold or predicted",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        ax.set_yticks([])
    ax.set_ylim(-0.6, max(len(types), 1) - 0.4)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def predicted_vs_true(y_true, y_pred, path, title):
    """Scatter of predictions against targets, with the diagonal (regressors)."""
    import numpy as np

    plt = _pyplot()
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    fig, ax = plt.subplots(figsize=(4.8, 4.6))
    ax.scatter(y_true, y_pred, s=14, alpha=0.6, color=TRAINING)
    both = np.concatenate([y_true, y_pred])
    lo, hi = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
    ax.plot([lo, hi], [lo, hi], color="0.4", linestyle="--", linewidth=1)
    ax.set_xlabel("true value")
    ax.set_ylabel("predicted value")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)
