"""Fit and predict throughput: AlbertClassifier against its baselines, same run.

On SST-2 with one backbone config (our "small": 4 layers, hidden 256,
embedding 128, 4 heads, intermediate 1024), ``max_length=64`` and batch
size 32, the same examples go through

* ``AlbertClassifier.fit`` / ``predict`` (strings in);
* keras-hub's ``AlbertTextClassifier`` with its preprocessor and an
  ``AlbertTokenizer`` built from the same SentencePiece proto (strings in);
* a hand-written Keras loop: ``train_on_batch`` / ``predict_on_batch`` over
  pre-tokenised, length-bucketed, pre-padded integer batches (the floor);
* Hugging Face ``AlbertForSequenceClassification`` on PyTorch (same config,
  random init), a plain training loop with dynamic padding (pad to the
  longest row of each shuffled batch), when ``torch`` and ``transformers``
  are installed (``pip install albert-sk[bench]``).

Each system runs a warm-up pass (tracing, first-epoch costs) and then a timed
pass over the same number of examples; systems are interleaved and repeated,
and the table holds medians of the throughputs and of the per-repeat ratios.
The training FLOP/s achieved by AlbertClassifier is compared with the
machine's measured float32 matmul peak.

Run ``python benchmarks/bench_classifier.py --quick`` (or ``--full``).
"""

import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from albert_sk import AlbertClassifier  # noqa: E402
from albert_sk.backbones import SIZES, backbone_config  # noqa: E402
from albert_sk.base import PREDICT_TOKENS  # noqa: E402
from albert_sk.batching import bucket_sizes, make_batches  # noqa: E402
from albert_sk.io import read_sst2  # noqa: E402
from benchmarks._common import DATA, arguments, markdown_table, publish  # noqa: E402

SIZE = "small"
MAX_LENGTH = 64
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
MODES = {
    # examples per timed fit pass, per timed predict pass, repeats
    "quick": dict(n_fit=512, n_predict=1024, repeats=3),
    "full": dict(n_fit=4096, n_predict=8192, repeats=5),
}


def load_sst2(n, seed=0):
    """``n`` SST-2 training phrases drawn at random (same draw for every system)."""
    frame = read_sst2(DATA / "sst2" / "train.tsv")
    rows = np.random.default_rng(seed).permutation(len(frame))[:n]
    part = frame.iloc[rows]
    return part["text"].tolist(), part["label"].to_numpy().astype("int32")


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _optimizer():
    return keras.optimizers.AdamW(
        learning_rate=LEARNING_RATE, weight_decay=0.01, clipnorm=1.0
    )


# === Systems ===


def run_ours(texts, labels, predict_texts, cls=AlbertClassifier, **params):
    """AlbertClassifier: epoch 2 of a 2-epoch fit, then the second predict call."""
    timer = EpochTimer()
    clf = cls(
        backbone=SIZE,
        max_length=MAX_LENGTH,
        batch_size=BATCH_SIZE,
        epochs=2,
        learning_rate=LEARNING_RATE,
        random_state=0,
        callbacks=[timer],
        **params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small samples support < 8000 pieces
        total, _ = timed(lambda: clf.fit(texts, labels))
    clf.predict(predict_texts)  # warm-up: traces the predict shapes
    predict_s, _ = timed(lambda: clf.predict(predict_texts))
    times = dict(
        fit_s=timer.seconds[-1],
        first_epoch_s=timer.seconds[0],
        predict_s=predict_s,
        total_fit_s=total,
    )
    return times, clf


BEFORE = "albert_sk, old batching"


class OldBatchingClassifier(AlbertClassifier):
    """AlbertClassifier with the batching it had before this benchmark."""

    def _bucket_sizes(self):
        return bucket_sizes(self.max_length)

    def _run_model(self, encoded):
        import albert_sk.base

        plain = albert_sk.base.make_batches
        albert_sk.base.make_batches = lambda *a, max_tokens=None, **k: plain(*a, **k)
        try:
            return super()._run_model(encoded)
        finally:
            albert_sk.base.make_batches = plain


def run_before(texts, labels, predict_texts):
    return run_ours(texts, labels, predict_texts, cls=OldBatchingClassifier)[0]


def _backbone(tokenizer):
    import keras_hub

    config = backbone_config(
        SIZE, vocab_size=tokenizer.vocab_size, max_length=MAX_LENGTH, dropout=0.1
    )
    return keras_hub.models.AlbertBackbone(**config)


def run_keras_hub(tokenizer, texts, labels, predict_texts):
    """keras-hub AlbertTextClassifier on strings, its own preprocessor."""
    import keras_hub

    hub_tokenizer = keras_hub.models.AlbertTokenizer(proto=tokenizer.proto)
    preprocessor = keras_hub.models.AlbertTextClassifierPreprocessor(
        hub_tokenizer, sequence_length=MAX_LENGTH
    )
    model = keras_hub.models.AlbertTextClassifier(
        _backbone(tokenizer), num_classes=2, preprocessor=preprocessor
    )
    model.compile(
        optimizer=_optimizer(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    timer = EpochTimer()
    x, y = np.asarray(texts), np.asarray(labels)
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=2, callbacks=[timer], verbose=0)
    p = np.asarray(predict_texts)
    model.predict(p, batch_size=BATCH_SIZE, verbose=0)
    predict_s, _ = timed(lambda: model.predict(p, batch_size=BATCH_SIZE, verbose=0))
    return dict(fit_s=timer.seconds[-1], predict_s=predict_s)


def run_floor(tokenizer, texts, labels, predict_texts):
    """Hand-written Keras loop over pre-padded, length-bucketed integer batches."""
    from albert_sk.heads import dense_head

    inputs = {
        name: keras.Input(shape=(None,), dtype="int32", name=name)
        for name in ("token_ids", "segment_ids", "padding_mask")
    }
    features = _backbone(tokenizer)(inputs)["pooled_output"]
    model = keras.Model(inputs, dense_head(features, 2, dropout=0.1, name="logits"))
    model.compile(
        optimizer=_optimizer(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    buckets = bucket_sizes(MAX_LENGTH, step=8)  # as AlbertClassifier on CPU
    rng = np.random.default_rng(0)

    def batches(encoded, rng=None):
        index, padded = make_batches(
            encoded.lengths,
            BATCH_SIZE,
            buckets,
            rng,
            max_tokens=None if rng else max(BATCH_SIZE * MAX_LENGTH, PREDICT_TOKENS),
        )
        return [(encoded.batch(i, n), i) for i, n in zip(index, padded, strict=True)]

    encoded = tokenizer.pack(tokenizer.encode(texts), max_length=MAX_LENGTH)
    epochs = [batches(encoded, rng) for _ in range(2)]  # precomputed, like the ids
    seconds = []
    for plan in epochs:
        start = time.perf_counter()
        for x, rows in plan:
            model.train_on_batch(x, labels[rows])
        seconds.append(time.perf_counter() - start)
    pred = tokenizer.pack(tokenizer.encode(predict_texts), max_length=MAX_LENGTH)
    plan = batches(pred)

    def predict():
        out = np.empty((len(pred), 2), "float32")
        for x, rows in plan:
            out[rows] = model.predict_on_batch(x)
        return out

    predict()
    predict_s, _ = timed(predict)
    return dict(fit_s=seconds[-1], predict_s=predict_s)


def have_torch():
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


def run_hf(tokenizer, texts, labels, predict_texts):
    """Hugging Face AlbertForSequenceClassification, PyTorch CPU, dynamic padding.

    Ids come from the same SentencePiece model (tokenised once, as a
    ``datasets.map`` would); batches are shuffled and padded to their longest
    row (``DataCollatorWithPadding``); prediction runs in input order.
    """
    import keras_hub
    import torch
    from transformers import AlbertConfig, AlbertForSequenceClassification

    from albert_sk.export.hf import hf_config

    # The same architecture as ours, described as export_hf describes it.
    backbone = keras_hub.models.AlbertBackbone(
        **backbone_config(
            SIZE, vocab_size=tokenizer.vocab_size, max_length=MAX_LENGTH, dropout=0.1
        )
    )
    config = AlbertConfig(**hf_config(backbone, tokenizer), num_labels=2)
    del backbone
    torch.manual_seed(0)
    model = AlbertForSequenceClassification(config)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=LEARNING_RATE, weight_decay=0.01
    )

    def collate(encoded, rows):
        x = encoded.batch(rows, int(encoded.lengths[rows].max()))
        return {
            "input_ids": torch.from_numpy(x["token_ids"]).long(),
            "token_type_ids": torch.from_numpy(x["segment_ids"]).long(),
            "attention_mask": torch.from_numpy(x["padding_mask"]).long(),
        }

    encoded = tokenizer.pack(tokenizer.encode(texts), max_length=MAX_LENGTH)
    y = torch.from_numpy(labels).long()
    rng = np.random.default_rng(0)

    def step(rows):
        out = model(**collate(encoded, rows), labels=y[rows])
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()

    model.train()
    threads = _pick_threads(lambda: step(rng.permutation(len(encoded))[:BATCH_SIZE]))
    seconds = []
    for _ in range(2):
        start = time.perf_counter()
        order = rng.permutation(len(encoded))
        for s in range(0, len(order), BATCH_SIZE):
            step(order[s : s + BATCH_SIZE])
        seconds.append(time.perf_counter() - start)
    pred = tokenizer.pack(tokenizer.encode(predict_texts), max_length=MAX_LENGTH)
    model.eval()

    def predict():
        out = []
        with torch.inference_mode():
            for s in range(0, len(pred), BATCH_SIZE):
                rows = np.arange(s, min(s + BATCH_SIZE, len(pred)))
                out.append(model(**collate(pred, rows)).logits.numpy())
        return np.concatenate(out)

    predict()
    predict_s, _ = timed(predict)
    return dict(fit_s=seconds[-1], predict_s=predict_s, threads=threads)


def _pick_threads(step):
    """Give PyTorch its best thread count (1 or all cores) on this machine now.

    On a loaded machine OpenMP's barriers make 2 threads on 2 busy cores many
    times slower than 1; the baseline gets whichever is faster.
    """
    import torch

    best = None
    for threads in sorted({1, os.cpu_count() or 1}):
        torch.set_num_threads(threads)
        step()
        seconds, _ = timed(lambda: [step() for _ in range(3)])
        if best is None or seconds < best[0]:
            best = (seconds, threads)
    torch.set_num_threads(best[1])
    return best[1]


# === FLOPs ===


def matmul_peak(n=2048, repeats=5):
    """Best float32 matmul FLOP/s of numpy and TensorFlow on ``n x n`` matrices."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype="float32")
    best = 0.0
    for _ in range(repeats):
        s, _ = timed(lambda: a @ a)
        best = max(best, 2 * n**3 / s)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        t = tf.constant(a)
        tf.matmul(t, t).numpy()
        for _ in range(repeats):
            s, _ = timed(lambda: tf.matmul(t, t).numpy())
            best = max(best, 2 * n**3 / s)
    return best


def train_flops(padded_lengths, batch_size=BATCH_SIZE, size=SIZE):
    """FLOPs of one training pass over batches of the given padded lengths.

    6 x (weights in matmuls) per token (forward 2, backward 4), plus the
    attention scores and weighted sum: 6 x 2 x hidden x length per token per
    layer. Embedding lookups, norms and softmax are left out.
    """
    c = SIZES[size]
    h, e, f, layers = (
        c["hidden_dim"],
        c["embedding_dim"],
        c["intermediate_dim"],
        c["num_layers"],
    )
    # ALBERT shares one layer's weights, but every layer does the matmuls.
    per_token_layer = 4 * h * h + 2 * h * f
    per_token = e * h + layers * per_token_layer
    total = 0.0
    for length in padded_lengths:
        tokens = batch_size * length
        total += 6 * tokens * per_token
        total += 6 * layers * 2 * h * length * tokens
    return total


def train_padded_lengths(encoded, buckets, seed=0):
    """Padded length of each training batch of one epoch."""
    rng = np.random.default_rng(seed)
    return make_batches(encoded.lengths, BATCH_SIZE, buckets, rng)[1]


# === Report ===


def main(argv=None):
    parser = arguments(__doc__, modes=True)
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args(argv)
    mode = MODES[args.mode or "quick"]
    repeats = args.repeats or mode["repeats"]
    n_fit, n_predict = mode["n_fit"], mode["n_predict"]
    texts, labels = load_sst2(n_fit + n_predict)
    fit_texts, fit_labels = texts[:n_fit], labels[:n_fit]
    predict_texts = texts[n_fit:]
    systems = ["albert_sk", BEFORE, "floor", "keras-hub"]
    if have_torch():
        systems.append("hf-torch")
    else:
        print("torch/transformers not installed: skipping Hugging Face (bench extra)")
    results = {name: [] for name in systems}
    totals, peaks = [], []

    def report(done):
        median = statistics.median

        def speed(name, key, n):
            return median(n / x[key] for x in results[name])

        def ratio(name, key):
            # ours / theirs in throughput = their time / our time, per repeat
            pairs = zip(results["albert_sk"], results[name], strict=True)
            return median(b[key] / a[key] for a, b in pairs)

        rows = []
        for name in systems:
            label = name
            if name == "hf-torch":
                threads = sorted({x["threads"] for x in results[name]})
                label = f"hf-torch ({'/'.join(map(str, threads))} thread)"
            rows.append(
                [
                    label,
                    f"{speed(name, 'fit_s', n_fit):.1f}",
                    f"{ratio(name, 'fit_s'):.2f}x" if name != "albert_sk" else "-",
                    f"{speed(name, 'predict_s', n_predict):.1f}",
                    f"{ratio(name, 'predict_s'):.2f}x" if name != "albert_sk" else "-",
                ]
            )
        table = markdown_table(
            [
                "system",
                "fit examples/s",
                "albert_sk fit speed-up",
                "predict examples/s",
                "albert_sk predict speed-up",
            ],
            rows,
        )
        encoded = tok.pack(tok.encode(fit_texts), max_length=MAX_LENGTH)
        padded = train_padded_lengths(encoded, clf._bucket_sizes())
        padded_before = train_padded_lengths(encoded, bucket_sizes(MAX_LENGTH))
        flops = train_flops(padded)
        peak = max(peaks)
        achieved = [flops / x["fit_s"] for x in results["albert_sk"]]
        real = encoded.lengths.sum()
        util = markdown_table(
            ["quantity", "value"],
            [
                ["measured float32 matmul peak (best)", f"{peak / 1e9:.1f} GFLOP/s"],
                [
                    "training FLOPs per example (padded tokens)",
                    f"{flops / len(fit_texts):.3g}",
                ],
                [
                    "achieved during fit (albert_sk, median)",
                    f"{median(achieved) / 1e9:.1f} GFLOP/s",
                ],
                ["utilisation (median / best peak)", f"{median(achieved) / peak:.0%}"],
                [
                    "padded / real tokens: multiples of 8 (now)",
                    f"{BATCH_SIZE * sum(padded) / real:.2f}",
                ],
                [
                    "padded / real tokens: powers of two from 16 (before)",
                    f"{BATCH_SIZE * sum(padded_before) / real:.2f}",
                ],
                [
                    "padded / real tokens: keras-hub (always 64)",
                    f"{64 * n_fit / real:.2f}",
                ],
                [
                    "end-to-end albert_sk fit incl. vocabulary and tracing (2 epochs)",
                    f"{median(totals):.1f} s",
                ],
            ],
        )
        body = (
            f"### Classifier throughput ({args.mode or 'quick'})\n\n"
            f"SST-2, backbone `{SIZE}`, max_length {MAX_LENGTH}, batch size "
            f"{BATCH_SIZE}; {n_fit} examples per timed fit epoch (after a warm-up "
            f"epoch), {n_predict} per timed predict call (after a warm-up call); "
            f"medians of {done} interleaved repeats. Speed-up = albert_sk "
            "throughput / that system's, median of per-repeat ratios. "
            f"`{BEFORE}` is albert_sk with the batching it had before this "
            "benchmark (powers-of-two buckets from 16, 32-row predict batches); "
            "the floor uses the same batches as albert_sk now.\n\n"
            f"{table}\n\n### Training utilisation\n\n{util}\n"
        )
        publish("classifier-throughput", body, args.no_write)

    for r in range(repeats):
        peaks.append(matmul_peak())
        ours, clf = run_ours(fit_texts, fit_labels, predict_texts)
        results["albert_sk"].append(ours)
        totals.append(ours["total_fit_s"])
        tok = clf.tokenizer_
        args_ = (tok, fit_texts, fit_labels, predict_texts)
        results[BEFORE].append(run_before(fit_texts, fit_labels, predict_texts))
        results["floor"].append(run_floor(*args_))
        results["keras-hub"].append(run_keras_hub(*args_))
        if "hf-torch" in results:
            results["hf-torch"].append(run_hf(*args_))
        peaks.append(matmul_peak())
        print(
            f"repeat {r + 1}/{repeats}: "
            + ", ".join(
                f"{k} fit {n_fit / v[-1]['fit_s']:.1f}/s "
                f"predict {n_predict / v[-1]['predict_s']:.1f}/s"
                for k, v in results.items()
            ),
            flush=True,
        )
        report(r + 1)  # rewritten after every repeat: a cut run keeps its table
    return results


if __name__ == "__main__":
    main()
