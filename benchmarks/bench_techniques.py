"""Speed techniques, measured: AlbertClassifier under each, against the default.

Same data and model as ``bench_classifier.py`` (SST-2, backbone "small",
``max_length=64``, batch size 32): fit throughput (epoch 2 of a 2-epoch fit)
and predict throughput (second call) of ``AlbertClassifier`` with

* the defaults (TensorFlow backend, float32, no XLA on CPU);
* ``KERAS_BACKEND=jax`` (every step compiled with XLA; power-of-two buckets);
* ``steps_per_execution=8`` (Keras runs 8 train steps per call into the
  graph; albert_sk does not expose it, the script recompiles the model);
* ``mixed_precision=True`` (``mixed_bfloat16``; this Xeon has AMX/AVX512-BF16);
* ``jit_compile=True`` (XLA on the TensorFlow backend).

Each variant runs in its own process (the backend and dtype policy are
process-wide); variants are interleaved over ``--repeats`` rounds and the
table holds medians, and the speed-up against the default is the median of
per-round ratios.

Run ``python benchmarks/bench_techniques.py`` (``--repeats 2``, ``--no-write``,
``--only jax``).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

DEFAULT = "defaults (TensorFlow, float32)"
TF = {"KERAS_BACKEND": "tensorflow"}
VARIANTS = {  # name: (environment, estimator parameters)
    DEFAULT: (TF, {}),
    "JAX backend": ({"KERAS_BACKEND": "jax"}, {}),
    "steps_per_execution=8": (TF, {"steps_per_execution": 8}),
    "mixed_precision=True (bfloat16)": (TF, {"mixed_precision": True}),
    "jit_compile=True (XLA)": (TF, {"jit_compile": True}),
}


def child(name):
    """Fit and predict once under variant ``name``; print one JSON line."""
    import keras

    from albert_sk import AlbertClassifier
    from benchmarks.bench_classifier import MODES, load_sst2, run_ours

    params = dict(VARIANTS[name][1])
    steps = params.pop("steps_per_execution", None)

    class Classifier(AlbertClassifier):
        def _compile(self, n_train):
            m = super()._compile(n_train)  # the model fit trains
            if steps:
                m.compile(
                    optimizer=m.optimizer,
                    loss=m.loss,
                    metrics=["accuracy"],
                    jit_compile=m.jit_compile,
                    steps_per_execution=steps,
                )
            return m

    n_fit, n_predict = MODES["quick"]["n_fit"], MODES["quick"]["n_predict"]
    texts, labels = load_sst2(n_fit + n_predict)
    times, _ = run_ours(
        texts[:n_fit], labels[:n_fit], texts[n_fit:], cls=Classifier, **params
    )
    print(
        json.dumps(
            dict(
                fit=n_fit / times["fit_s"],
                first_epoch_s=times["first_epoch_s"],
                predict=n_predict / times["predict_s"],
                backend=keras.backend.backend(),
            )
        )
    )


def run_child(name):
    env = dict(os.environ, **VARIANTS[name][0])
    out = subprocess.run(
        [sys.executable, __file__, "--child", name],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        print(out.stderr[-3000:])
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    from benchmarks._common import arguments, markdown_table, publish

    parser = arguments(__doc__)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", nargs="+", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)

    names = [DEFAULT] + [
        n
        for n in VARIANTS
        if n != DEFAULT and (not args.only or any(o in n for o in args.only))
    ]
    results = {n: [] for n in names}
    for repeat in range(args.repeats):
        for name in names:
            r = run_child(name)
            print(f"round {repeat + 1} {name}: {r}", flush=True)
            results[name].append(r)

    median = statistics.median
    rows = []
    for name in names:
        runs = results[name]
        if any(r is None for r in runs):
            rows.append([name, "failed", "", "", "", ""])
            continue
        pairs = list(zip(results[DEFAULT], runs, strict=True))
        rows.append(
            [
                name,
                f"{median(r['fit'] for r in runs):.1f}",
                "-"
                if name == DEFAULT
                else f"{median(b['fit'] / a['fit'] for a, b in pairs):.2f}x",
                f"{median(r['predict'] for r in runs):.1f}",
                "-"
                if name == DEFAULT
                else f"{median(b['predict'] / a['predict'] for a, b in pairs):.2f}x",
                f"{median(r['first_epoch_s'] for r in runs):.1f}",
            ]
        )
    table = markdown_table(
        [
            "variant",
            "fit examples/s",
            "fit vs defaults",
            "predict examples/s",
            "predict vs defaults",
            "first epoch incl. tracing (s)",
        ],
        rows,
    )
    body = (
        "### Techniques (`bench_techniques.py`)\n\n"
        "AlbertClassifier, SST-2, backbone `small`, max_length 64, batch 32: "
        "epoch 2 of a 2-epoch fit on 512 phrases, second predict call on 1,024; "
        f"one process per variant, medians of {args.repeats} interleaved rounds.\n\n"
        + table
    )
    publish("techniques", body, args.no_write)


if __name__ == "__main__":
    main()
