"""The Keras side of ``AlbertPretrainer``'s training loop.

* :class:`StreamBatches` serves a stream of batches to ``Model.fit`` in order;
* :class:`Tracker` counts steps, keeps the history, writes checkpoints and
  shows progress;
* checkpoint files: model and optimizer variables plus a JSON state in one
  ``.npz``, written atomically (temporary file, then ``os.replace``);
* the heads' weights in a saved model file (``heads.npz``).
"""

import io
import json
import os
import zipfile

import keras
import numpy as np

from albert_sk._files import atomic_write
from albert_sk.exceptions import InputError, ModelFileError

CHECKPOINT_FILE = "checkpoint.npz"
VOCABULARY_FILE = "spiece.model"


def write_atomic(folder, name, write):
    """Call ``write(file)`` on a temporary file in ``folder``; move it to ``name``."""
    with atomic_write(os.path.join(os.fspath(folder), name)) as fh:
        write(fh)


def save_checkpoint(folder, model, state):
    """Model and optimizer variables, and ``state`` (JSON), in one atomic file."""
    values = [keras.ops.convert_to_numpy(v) for v in model.weights]
    slots = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    state = dict(state, n_model=len(values), n_optimizer=len(slots))
    arrays = {f"model_{i}": a for i, a in enumerate(values)}
    arrays.update({f"optimizer_{i}": a for i, a in enumerate(slots)})
    arrays["state"] = np.asarray(json.dumps(state))
    write_atomic(folder, CHECKPOINT_FILE, lambda fh: np.savez(fh, **arrays))


def read_checkpoint(folder):
    """``(state, model values, optimizer values)``, or None without a checkpoint."""
    path = os.path.join(folder, CHECKPOINT_FILE)
    if not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            state = json.loads(str(data["state"]))
            values = [data[f"model_{i}"] for i in range(state["n_model"])]
            slots = [data[f"optimizer_{i}"] for i in range(state["n_optimizer"])]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise ModelFileError(
            f"The checkpoint {path!r} is damaged ({type(err).__name__}: {err}). "
            "Delete it to start over, or pass another checkpoint_dir."
        ) from None
    return state, values, slots


def resumable_checkpoint(folder, fingerprint):
    """The checkpoint in ``folder`` (made if missing) to resume, as
    :func:`read_checkpoint` reads it, or None; an ``InputError`` when it holds
    a run whose settings (``fingerprint``) differ."""
    os.makedirs(folder, exist_ok=True)
    resume = read_checkpoint(folder)
    if resume is not None and resume[0]["fingerprint"] != fingerprint:
        old = resume[0]["fingerprint"]
        keys = set(old) | set(fingerprint)
        diff = sorted(k for k in keys if old.get(k) != fingerprint.get(k))
        raise InputError(
            f"checkpoint_dir {folder!r} holds a run with other settings "
            f"({', '.join(f'{k}={old.get(k)!r}' for k in diff)}). Resume with "
            "those settings and the same corpus, or pass a new checkpoint_dir."
        )
    return resume


def restore(model, values, slots, folder):
    """Assign checkpointed values to the model's and its optimizer's variables."""
    targets = (model.weights, model.optimizer.variables)
    for variables, arrays in zip(targets, (values, slots), strict=True):
        if len(arrays) != len(variables) or any(
            tuple(a.shape) != tuple(v.shape)
            for a, v in zip(arrays, variables, strict=True)
        ):
            raise ModelFileError(
                f"The checkpoint in {folder!r} does not match this model's "
                "variables. Delete it to start over, or pass another checkpoint_dir."
            )
        for v, a in zip(variables, arrays, strict=True):
            v.assign(a)


def head_weights(model, backbone):
    """The variables of ``model`` outside ``backbone``: its MLM and SOP heads."""
    own = {id(v) for v in backbone.weights}
    return [v for v in model.weights if id(v) not in own]


def heads_archive(model, backbone):
    """The heads' weights (:func:`head_weights`) as the bytes of an ``.npz``."""
    buffer = io.BytesIO()
    weights = head_weights(model, backbone)
    np.savez(buffer, *[keras.ops.convert_to_numpy(v) for v in weights])
    return buffer.getvalue()


def restore_heads(model, backbone, archive):
    """Assign the weights of :func:`heads_archive`'s bytes to ``model``'s
    heads; a ``ValueError`` for bytes that are not such an archive."""
    try:
        with np.load(io.BytesIO(archive), allow_pickle=False) as saved:
            arrays = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    except (OSError, zipfile.BadZipFile) as err:
        raise ValueError(f"heads.npz is not a NumPy archive ({err})") from None
    variables = head_weights(model, backbone)
    shapes = [tuple(v.shape) for v in variables]
    if [a.shape for a in arrays] != shapes:
        raise ValueError(
            f"heads.npz holds arrays of shapes {[a.shape for a in arrays]}, "
            f"expected {shapes}"
        )
    for variable, array in zip(variables, arrays, strict=True):
        variable.assign(array)


class StreamBatches(keras.utils.PyDataset):
    """A stream of training batches served in order to ``Model.fit``.

    Keras asks for items 0 and 1 before the epoch starts, to read the tensor
    spec; those calls get the probe batches. From ``on_epoch_begin`` on, item
    ``i`` is the next batch of the stream (Keras reads them in order). A
    stream that runs dry serves zero-weight batches and records where it
    ended, so the tracker stops training there.
    """

    def __init__(self, stream, steps, probes):
        super().__init__()
        self.stream, self.steps, self.probes = stream, steps, probes
        self.started, self.positions, self.ended_at = False, {}, None

    def __len__(self):
        return self.steps

    def on_epoch_begin(self):
        self.started = True

    def __getitem__(self, i):
        if not self.started:
            return self.probes[i % len(self.probes)]
        item = None if self.ended_at is not None else next(self.stream, None)
        if item is None:
            if self.ended_at is None:
                self.ended_at = i
            x, y, w = self.probes[0]
            return x, y, w
        self.positions[i] = item[0]
        return tuple(item[1])


class Tracker(keras.callbacks.Callback):
    """Counts steps, keeps ``history_``, writes checkpoints, shows progress."""

    def __init__(self, estimator, data, state, *, total, log_period, fingerprint):
        super().__init__()
        self.estimator, self.data, self.total = estimator, data, total
        self.log_period, self.fingerprint = log_period, fingerprint
        self.first = self.step = state["step"]
        self.history, self.period = state["history"], state["period"]
        self.since_reset = 0
        self.progress = keras.utils.Progbar(total) if estimator.verbose else None
        if self.progress is not None and self.step:
            self.progress.update(self.step)

    def _flush(self, logs):
        """Fold the metrics since the last reset into the current period."""
        if self.since_reset:
            for k, v in logs.items():
                self.period[k] = self.period.get(k, 0.0) + float(v) * self.since_reset
            self.period["n"] = self.period.get("n", 0) + self.since_reset
            self.since_reset = 0
            self.model.reset_metrics()

    def on_train_batch_end(self, batch, logs=None):
        logs = dict(logs or {})
        if "mlm_loss" not in logs and "loss" in logs:
            # One output (sop=False): Keras drops the output name.
            logs["mlm_loss"] = logs["loss"]
            if "accuracy" in logs:
                logs["mlm_accuracy"] = logs.pop("accuracy")
        self.step += 1
        self.since_reset += 1
        position = self.data.positions.pop(batch, None)
        done = self.step >= self.total or (
            self.data.ended_at is not None and batch + 1 >= self.data.ended_at
        )
        if self.step % self.log_period == 0 or done:
            self._flush(logs)
            n = self.period.pop("n", 0)
            if n:
                for k, v in self.period.items():
                    self.history.setdefault(k, []).append(v / n)
                self.history.setdefault("step", []).append(self.step)
            self.period.clear()
        est = self.estimator
        if (
            est.checkpoint_dir is not None
            and position is not None
            and (self.step % est.checkpoint_every == 0 or done)
        ):
            self._flush(logs)
            epoch, chunk, b = position
            save_checkpoint(
                est.checkpoint_dir,
                est.model_,
                {
                    "fingerprint": self.fingerprint,
                    "seed": est.seed_,
                    "step": self.step,
                    "epoch": epoch,
                    "chunk": chunk,
                    "batch": b + 1,
                    "history": self.history,
                    "period": self.period,
                },
            )
        if self.progress is not None:
            self.progress.update(
                self.step, [(k, float(v)) for k, v in logs.items()], finalize=done
            )
        if done:
            self.model.stop_training = True


def resume_vocabulary(folder, lowercase):
    """The vocabulary of the checkpoint in ``folder``, or None (no checkpoint)."""
    from albert_sk.exceptions import InputError
    from albert_sk.text import Tokenizer

    if folder is None:
        return None
    path = os.path.join(os.fspath(folder), VOCABULARY_FILE)
    checkpoint = os.path.join(os.fspath(folder), CHECKPOINT_FILE)
    if not os.path.exists(checkpoint) or not os.path.exists(path):
        return None
    with open(path, "rb") as fh:
        proto = fh.read()
    try:
        return Tokenizer(proto, lowercase=lowercase, strip_accents=lowercase)
    except (RuntimeError, OSError, InputError) as err:
        raise ModelFileError(
            f"The vocabulary {path!r} of the checkpoint is damaged ({err}). "
            "Delete the checkpoint folder to start over."
        ) from None
