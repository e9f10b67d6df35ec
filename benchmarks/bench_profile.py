"""Where one fit step of the ``small`` config goes on this CPU, part by part.

An ``AlbertClassifier(backbone="small", max_length=64, batch_size=32)`` is
fitted for one epoch on SST-2 sentences (so every traced shape exists);
then each part of a training step is timed on the same batch plan (every
batch of one epoch, after a warm-up pass), each part on its own:

- host: tokenising the texts (once per fit, shown per batch), cutting one
  padded batch from the token arrays, and the ``tf.data`` feed that hands
  it to Keras (``batching.fit_input``); host-to-device is the tensor copy
  of a batch (on a CPU the "device" is the same memory);
- the model: forward only, forward + backward (``GradientTape``, no
  update), AdamW's ``apply`` alone (clipping included) on those gradients,
  and the whole ``train_on_batch`` (Keras' step: all of it);
- inside forward + backward: the self-attention sublayer (projections,
  scores, softmax, weighted sum), the feed-forward denses, each run alone on
  the batch's hidden states for every layer of the stack; the rest
  (embeddings, projection, norms, residuals, head, loss) is the difference.

FLOPs count the matmuls as ``bench_classifier.py`` does; utilisation is
achieved FLOP/s over the best float32 matmul rate measured in the same run.
Run ``python benchmarks/bench_profile.py`` (about 3 minutes on 2 cores).
"""

import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from albert_sk import AlbertClassifier  # noqa: E402
from albert_sk.backbones import SIZES  # noqa: E402
from albert_sk.batching import fit_input, make_batches, training_batches  # noqa: E402
from albert_sk.io import read_sst2  # noqa: E402
from benchmarks._common import DATA, arguments, markdown_table, publish  # noqa: E402
from benchmarks.bench_classifier import matmul_peak, train_flops  # noqa: E402

BATCH_SIZE = 32


def timed_pass(fn, batches):
    """Seconds ``fn`` takes over every batch, after one warm-up pass."""
    for b in batches:
        fn(b)
    start = time.perf_counter()
    for b in batches:
        fn(b)
    return time.perf_counter() - start


def shape_rate(m, k, n, dtype, repeats=20):
    """FLOP/s of ``repeats`` chained (m, k) x (k, n) matmuls in one graph; int8
    as Keras' int8 layers run it on TensorFlow (int8 x int8 -> int32)."""
    a = tf.cast(tf.random.uniform((m, k), -100, 100), dtype)
    # Distinct weights: the graph optimiser would compute one product once.
    ws = [tf.cast(tf.random.uniform((k, n), -100, 100), dtype) for _ in range(repeats)]
    out = "int32" if dtype == "int8" else None

    @tf.function
    def chain():
        total = tf.zeros((m, n), out or dtype)
        for w in ws:
            total += tf.matmul(a, w, output_type=out) if out else tf.matmul(a, w)
        return total

    chain().numpy()
    seconds = min(timed_pass(lambda _: chain().numpy(), [0]) for _ in range(3))
    return 2 * m * k * n * repeats / seconds


def interleaved(parts, rounds):
    """Best of ``rounds`` timed passes of each ``name: (fn, batches)``, the
    parts taking turns, so a neighbour's load hits them alike."""
    best = {}
    for _ in range(rounds):
        for name, (fn, batches) in parts.items():
            seconds = timed_pass(fn, batches)
            best[name] = min(best.get(name, seconds), seconds)
    return best


def main():
    parser = arguments(__doc__)
    parser.add_argument("--n", type=int, default=2048, help="SST-2 texts")
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    frame = read_sst2(DATA / "sst2" / "train.tsv", n=args.n)
    clf = AlbertClassifier(
        backbone="small",
        max_length=args.max_length,
        batch_size=BATCH_SIZE,
        epochs=1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(frame.text, frame.label)
    model = clf.model_
    inputs = clf._check_X(frame.text, reset=False)
    start = time.perf_counter()
    encoded = clf._encode(inputs)
    tokenise_s = time.perf_counter() - start
    targets, _ = clf._check_y(frame.label, inputs)
    index, padded = make_batches(
        encoded.lengths, BATCH_SIZE, clf._bucket_sizes(), np.random.default_rng(0)
    )
    n_batches = len(index)

    # === Host ===
    host = [(rows, length) for rows, length in zip(index, padded, strict=True)]
    cut_s = timed_pass(lambda b: encoded.batch(b[0], b[1]), host)
    numpy_batches = [
        ({**encoded.batch(rows, length)}, targets[rows]) for rows, length in host
    ]
    batches = [
        (
            {k: tf.convert_to_tensor(v) for k, v in x.items()},
            tf.convert_to_tensor(y),
        )
        for x, y in numpy_batches
    ]
    copy_s = timed_pass(
        lambda b: [tf.identity(tf.convert_to_tensor(v)) for v in b[0].values()],
        numpy_batches,
    )
    feed = training_batches(
        encoded,
        targets,
        None,
        batch_size=BATCH_SIZE,
        buckets=clf._bucket_sizes(),
        rng=np.random.default_rng(0),
    )
    dataset = fit_input(feed)
    for _ in dataset:
        pass
    start = time.perf_counter()
    for _ in dataset:
        pass
    feed_s = time.perf_counter() - start

    # === Model ===
    loss_fn = clf._get_loss()
    variables = model.trainable_variables

    @tf.function(reduce_retracing=True)
    def forward(x):
        return model(x, training=True)

    @tf.function(reduce_retracing=True)
    def forward_backward(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        return tape.gradient(loss, variables)

    optimizer = model.optimizer
    gradients = [forward_backward(*b) for b in batches]

    @tf.function(reduce_retracing=True)
    def update(grads):
        optimizer.apply(grads, variables)

    backbone = model.get_layer("albert_backbone")
    layer = backbone.get_layer("group_0_inner_layer_0")
    attention = layer._self_attention_layer
    dense_in = layer._feedforward_intermediate_dense
    dense_out = layer._feedforward_output_dense
    n_layers = backbone.num_layers
    hidden = backbone.hidden_dim
    states = [
        (
            tf.random.normal(
                (x["token_ids"].shape[0], x["token_ids"].shape[1], hidden)
            ),
            tf.cast(x["padding_mask"], "bool"),
        )
        for x, _ in batches
    ]

    @tf.function(reduce_retracing=True)
    def attention_fb(h, mask):
        with tf.GradientTape() as tape:
            tape.watch(h)
            mask2 = mask[:, None, :] & mask[:, :, None]
            out = attention(h, h, attention_mask=mask2, training=True)
            loss = tf.reduce_sum(out)
        return tape.gradient(loss, [h, *attention.trainable_variables])

    @tf.function(reduce_retracing=True)
    def ffn_fb(h, mask):
        with tf.GradientTape() as tape:
            tape.watch(h)
            loss = tf.reduce_sum(dense_out(dense_in(h)))
        return tape.gradient(
            loss, [h, *dense_in.trainable_variables, *dense_out.trainable_variables]
        )

    peak = matmul_peak()
    seconds = interleaved(
        {
            "step": (lambda b: model.train_on_batch(*b), batches),
            "forward": (lambda b: forward(b[0]), batches),
            "grad": (lambda b: forward_backward(*b), batches),
            "update": (update, gradients),
            "attention": (lambda s: attention_fb(*s), states),
            "ffn": (lambda s: ffn_fb(*s), states),
        },
        args.rounds,
    )
    peak = max(peak, matmul_peak())
    step_s, forward_s, grad_s = seconds["step"], seconds["forward"], seconds["grad"]
    update_s = seconds["update"]
    attention_s = n_layers * seconds["attention"]
    ffn_s = n_layers * seconds["ffn"]
    flops = train_flops(padded, BATCH_SIZE, "small")
    c = SIZES["small"]
    h, f = c["hidden_dim"], c["intermediate_dim"]
    tokens = BATCH_SIZE * int(np.median(padded))
    step_rate = shape_rate(tokens, h, f, "float32")
    int8_rate = shape_rate(tokens, h, f, "int8")

    def row(name, seconds, note=""):
        ms = 1000 * seconds / n_batches
        return [name, f"{ms:.1f}", f"{seconds / step_s:.0%}", note]

    table = [
        row("tokenise (once per fit; per batch)", tokenise_s, "SentencePiece, C++"),
        row("cut a padded batch from the token arrays", cut_s, "numpy"),
        row("tf.data feed of a batch (fit_input)", feed_s, "incl. the cut"),
        row("host-to-device copy of a batch", copy_s, "CPU: same memory"),
        row("**train_on_batch** (the whole step)", step_s, "= 100%"),
        row("forward", forward_s),
        row("backward", grad_s - forward_s, "forward + backward minus forward"),
        row("AdamW update (clipping included)", update_s, "optimizer.apply alone"),
        row(
            "Keras step overhead",
            step_s - grad_s - update_s,
            "step minus forward + backward minus update",
        ),
        row(
            "self-attention (fwd + bwd, all layers)",
            attention_s,
            "projections, scores, softmax",
        ),
        row("feed-forward denses (fwd + bwd, all layers)", ffn_s, "256 -> 1024 -> 256"),
        row(
            "rest of forward + backward",
            grad_s - attention_s - ffn_s,
            "embeddings, norms, residuals, head, loss",
        ),
    ]
    achieved = flops / step_s
    body = (
        "### Where a fit step goes (`small`, CPU)\n\n"
        f"`python benchmarks/bench_profile.py`: `AlbertClassifier(backbone='small', "
        f"max_length={args.max_length}, batch_size={BATCH_SIZE})` after a one-epoch "
        f"fit on {args.n:,} SST-2 sentences; every part timed alone over the "
        f"{n_batches} batches of one epoch (median padded length "
        f"{int(np.median(padded))}), after a warm-up pass; best of {args.rounds} "
        "rounds, the parts taking turns. Milliseconds per batch; share of the "
        "whole `train_on_batch` step (parts timed alone do not add up exactly: "
        "each runs as its own graph). The matmul rate is the best of a run before "
        "and one after.\n\n"
        + markdown_table(["part", "ms per batch", "share of step", "what"], table)
        + "\n\n"
        + markdown_table(
            ["quantity", "value"],
            [
                ["best float32 matmul rate (2048 x 2048)", f"{peak / 1e9:.1f} GFLOP/s"],
                [
                    f"feed-forward matmuls at the step's shape ({tokens}x{h}x{f})",
                    f"{step_rate / 1e9:.1f} GFLOP/s ({step_rate / peak:.0%} of best)",
                ],
                [
                    "the same in int8 (int8 x int8 -> int32, as Keras int8 layers)",
                    f"{int8_rate / 1e9:.1f} GOP/s ({int8_rate / step_rate:.2f}x fp32)",
                ],
                ["training FLOPs per step (matmuls)", f"{flops / n_batches:.3g}"],
                [
                    "achieved in train_on_batch",
                    f"{achieved / 1e9:.1f} GFLOP/s ({achieved / peak:.0%} of best)",
                ],
            ],
        )
    )
    publish("profile", body, args.no_write)


if __name__ == "__main__":
    main()
