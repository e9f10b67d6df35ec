"""``albert-sk serve``: its options and what it runs (the server itself is
:mod:`albert_sk.server`)."""

from albert_sk.cli.data import CommandError, load_model
from albert_sk.server import Limits, require_fastapi, serve


def add_arguments(parser):
    """The options of ``albert-sk serve``."""
    parser.add_argument("--model", required=True, help="a saved albert_sk model")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s, this machine only; "
        "0.0.0.0 listens on every interface)",
    )
    parser.add_argument("--port", type=int, default=8000, help="default: %(default)s")
    parser.add_argument(
        "--max-batch-size",
        type=int,
        default=32,
        help="inputs of concurrent requests run together, up to this many "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--max-wait-ms",
        type=float,
        default=5.0,
        help="how long the first request of a batch waits for others "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--max-request-bytes",
        type=int,
        default=2**20,
        help="larger request bodies get 413 (default: %(default)s)",
    )
    parser.add_argument(
        "--max-inputs",
        type=int,
        default=1024,
        help="requests with more inputs get 413 (default: %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's log level; info logs a line per request, warning only "
        "problems (default: %(default)s)",
    )


def run(args):
    """``albert-sk serve``: load the model once, then serve until stopped."""
    require_fastapi()  # before the model loads: fail fast without the extra
    limits = Limits(
        max_batch_size=args.max_batch_size,
        max_wait_ms=args.max_wait_ms,
        max_request_bytes=args.max_request_bytes,
        max_inputs=args.max_inputs,
    ).check()
    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port must be in [0, 65535], got {args.port}.")
    estimator = load_model(args.model)
    serve(
        estimator,
        host=args.host,
        port=args.port,
        limits=limits,
        log_level=args.log_level,
    )
