"""What ``albert-sk evaluate`` and ``albert-sk info`` print, and the plots.

``evaluate`` predicts once and computes the task's metric from those
predictions exactly as the estimator's ``score`` does (so the printed number
equals ``est.score(X, y)``), then a per-class or per-entity report.
"""

import os
import zipfile
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from albert_sk._registry import task_of

CURVE_FILE = "learning-curve.png"
CONFUSION_FILE = "confusion-matrix.png"
ENTITY_FILE = "entity-f1.png"
SCATTER_FILE = "predicted-vs-true.png"


@dataclass
class Evaluation:
    """The headline metric, a printable report, and what the plots need."""

    metric: str
    score: float
    n: int
    unit: str
    report: str = ""
    y_true: object = None
    y_pred: object = None
    table: pd.DataFrame | None = None  # per-entity report (tagger)
    extra: dict = field(default_factory=dict)

    def headline(self, estimator):
        return (
            f"{self.metric}: {self.score:.4f} ({type(estimator).__name__}, "
            f"{self.n:,} {self.unit})"
        )


def evaluate(estimator, data):
    """The :class:`Evaluation` of a fitted estimator on ``data`` (with ``y``)."""
    task = task_of(estimator)
    return {
        "classifier": _classifier,
        "regressor": _regressor,
        "tagger": _tagger,
        "qa": _qa,
    }[task](estimator, data)


def _classifier(estimator, data):
    from sklearn.metrics import accuracy_score, classification_report

    y = np.asarray(data.y)
    pred = estimator.predict(data.X)
    labels = list(estimator.classes_) + sorted(set(y) - set(estimator.classes_))
    report = classification_report(
        y,
        pred,
        labels=labels,
        target_names=[str(label) for label in labels],
        digits=4,
        zero_division=0,
    )
    return Evaluation(
        "accuracy",
        float(accuracy_score(y, pred)),
        len(y),
        "rows",
        report.rstrip("\n"),
        y_true=y,
        y_pred=pred,
        extra={"labels": labels},
    )


def _regressor(estimator, data):
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y = np.asarray(data.y, dtype=float)
    pred = estimator.predict(data.X)
    rmse = float(np.sqrt(mean_squared_error(y, pred)))
    report = (
        f"mean absolute error: {mean_absolute_error(y, pred):.4f}\n"
        f"root mean squared error: {rmse:.4f}"
    )
    return Evaluation(
        "R^2", float(r2_score(y, pred)), len(y), "rows", report, y_true=y, y_pred=pred
    )


def _tagger_gold(data):
    """Word lists and gold tags; raw texts with span lists become word lists.

    Spans split words at their boundaries (as ``fit`` does), so the words
    here are the ones the estimator's ``score`` tags.
    """
    from albert_sk.align import spans_to_tags

    words, gold = [], []
    for i, (x, y) in enumerate(zip(data.X, data.y, strict=True)):
        if isinstance(x, str):
            w, tags, _, _ = spans_to_tags(x, list(y), i)
            words.append(w)
            gold.append(tags)
        else:
            words.append(x)
            gold.append(y)
    return words, gold


def _tagger(estimator, data):
    from sklearn.metrics import classification_report

    from albert_sk.exceptions import InputError
    from albert_sk.metrics import entity_f1_score, entity_report

    if len(data.y) != len(data.X):
        raise InputError(
            f"got {len(data.X)} sentences but {len(data.y)} tag lists. Give one "
            "tag list per sentence."
        )
    if any(isinstance(x, str) for x in data.X) and estimator.scheme is not None:
        words, gold = _tagger_gold(data)
        # Gold spans are IOB2; compare in the estimator's scheme.
        from albert_sk.align import from_iob2

        gold = [from_iob2(t, estimator.scheme) for t in gold]
    else:
        words, gold = list(data.X), [list(t) for t in data.y]
    pred = estimator.predict(words)
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        if len(g) != len(p):
            raise InputError(
                f"Sentence {i} has {len(p)} words but {len(g)} tags. Give exactly "
                "one tag per word."
            )
    n = len(words)
    if estimator.scheme is None:
        flat_gold = [t for s in gold for t in s]
        flat_pred = [t for s in pred for t in s]
        same = sum(a == b for a, b in zip(flat_gold, flat_pred, strict=True))
        report = classification_report(flat_gold, flat_pred, digits=4, zero_division=0)
        return Evaluation(
            "word accuracy",
            same / len(flat_gold) if flat_gold else 0.0,
            n,
            "sentences",
            report.rstrip("\n"),
            y_true=flat_gold,
            y_pred=flat_pred,
        )
    table = entity_report(gold, pred, scheme=estimator.scheme)
    width = max([len(str(name)) for name in table.index] + [12])
    lines = [f"{'':<{width}}  precision     recall   f1-score    support", ""]
    for name, row in table.iterrows():
        if name == "micro avg":
            lines.append("")
        lines.append(
            f"{name:<{width}}  {row['precision']:>9.4f}  {row['recall']:>9.4f}  "
            f"{row['f1-score']:>9.4f}  {int(row['support']):>9d}"
        )
    report = "\n".join(lines)
    score = entity_f1_score(gold, pred, scheme=estimator.scheme)
    return Evaluation("entity F1", score, n, "sentences", report, table=table)


def _qa(estimator, data):
    from albert_sk.checks import check_qa_answers, check_qa_inputs
    from albert_sk.metrics import squad_evaluate

    who = type(estimator).__name__
    inputs = check_qa_inputs(data.X, who)
    spans = check_qa_answers(data.y, inputs, who)
    golds = [
        [context[a:b] for a, b in found] or [""]
        for context, found in zip(inputs.contexts, spans, strict=True)
    ]
    pred = estimator.predict(data.X)
    result = squad_evaluate(golds, pred)
    lines = [f"exact match: {result['exact']:.4f}", f"F1: {result['f1']:.4f}"]
    for part, what in (("HasAns", "with an answer"), ("NoAns", "without an answer")):
        if f"{part}_total" in result:
            lines.append(
                f"{result[f'{part}_total']:,} questions {what}: exact match "
                f"{result[f'{part}_exact']:.4f}, F1 {result[f'{part}_f1']:.4f}"
            )
    lines.insert(0, "(the official SQuAD script's percentages)")
    return Evaluation(  # the score on 0-1, as AlbertQA.score and sklearn's scorers
        "SQuAD F1", result["f1"] / 100, len(golds), "questions", "\n".join(lines)
    )


# === Plots ===


def plot_learning_curves(estimator, folder):
    """``learning-curve.png`` from ``history_``; None when nothing was recorded."""
    from albert_sk.cli import plots

    history = getattr(estimator, "history_", None) or {}
    if not any(values for values in history.values()):
        return None
    name = type(estimator).__name__
    epochs = len(history.get("loss", []))
    return plots.learning_curves(
        history,
        os.path.join(folder, CURVE_FILE),
        f"{name} learning curve ({epochs} epoch{'s' * (epochs != 1)})",
    )


def plot_evaluation(estimator, evaluation, folder):
    """The task's evaluation plot: confusion matrix, entity F1 bars or scatter."""
    from albert_sk.cli import plots

    name = type(estimator).__name__
    task = task_of(estimator)
    where = f"{evaluation.n:,} {evaluation.unit}"
    if task == "classifier":
        return plots.confusion_matrix(
            evaluation.y_true,
            evaluation.y_pred,
            evaluation.extra["labels"],
            os.path.join(folder, CONFUSION_FILE),
            f"{name} on {where} (accuracy {evaluation.score:.3f})",
        )
    if task == "tagger" and evaluation.table is not None:
        return plots.entity_f1_bars(
            evaluation.table,
            os.path.join(folder, ENTITY_FILE),
            f"{name}: F1 per entity type, {where}",
        )
    if task == "regressor":
        return plots.predicted_vs_true(
            evaluation.y_true,
            evaluation.y_pred,
            os.path.join(folder, SCATTER_FILE),
            f"{name} on {where} (R² {evaluation.score:.3f})",
        )
    return None


# === info ===


def model_info(path, estimator):
    """A dict describing the saved model at ``path`` (loaded as ``estimator``):
    :func:`albert_sk.model_file.describe`'s keys, with the version and
    parameters the file holds, and the file's path, size and format."""
    from albert_sk import model_file

    with zipfile.ZipFile(path) as archive:
        meta = model_file.read_meta(archive, path)
    return {
        "file": os.path.abspath(path),
        "file_size": os.path.getsize(path),
        **model_file.describe(estimator),
        "albert_sk_version": meta.get("albert_sk_version"),  # what wrote it
        "format_version": meta.get("format_version"),
        "params": meta["params"],
    }


def _size(n):
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000
    return ""


def _short_list(values, limit=20):
    shown = ", ".join(str(v) for v in values[:limit])
    more = len(values) - limit
    return shown + (f", ... ({more} more)" if more > 0 else "")


def format_info(info):
    """``info`` as the aligned text ``albert-sk info`` prints."""
    rows = [
        (
            "estimator",
            info["estimator"] + (f" (--task {info['task']})" if info["task"] else ""),
        ),
        ("file", f"{info['file']} ({_size(info['file_size'])})"),
        (
            "written by",
            f"albert_sk {info['albert_sk_version']} (model format "
            f"{info['format_version']})",
        ),
    ]
    if "classes" in info:
        rows.append((f"classes ({len(info['classes'])})", _short_list(info["classes"])))
    if "labels" in info and info["labels"] != info.get("classes"):
        rows.append(
            (f"model labels ({len(info['labels'])})", _short_list(info["labels"]))
        )
    shown = {
        "input_columns": "input columns",
        "multilabel": "multilabel",
        "pairs": "text pairs",
        "null_score_threshold": "null score threshold",
        "n_features_out": "embedding size",
    }
    for key, label in shown.items():
        if key in info:
            value = info[key]
            value = ", ".join(value) if isinstance(value, list) else value
            rows.append((label, str(value)))
    rows += [
        (
            "vocabulary",
            f"{info['vocabulary_size']:,} SentencePiece pieces"
            + (" (lower-cased)" if info["lowercase"] else ""),
        ),
        ("weights", f"{info['parameters']:,} parameters"),
    ]
    final = info["final"]
    if info["epochs_run"]:
        trained = f"{info['epochs_run']} epoch{'s' * (info['epochs_run'] != 1)}"
        if "loss" in final:
            trained += f", final loss {final['loss']:.4f}"
        others = [f"{k} {v:.4f}" for k, v in final.items() if k != "loss"]
        trained += f" ({', '.join(others)})" if others else ""
    else:
        trained = "no training history stored"
    rows.append(("trained", trained))
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"{label:<{width}}{value}" for label, value in rows]
    lines.append("estimator parameters:")
    for key in sorted(info["params"]):
        lines.append(f"  {key} = {info['params'][key]!r}")
    return "\n".join(lines)
