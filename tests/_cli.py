"""Running the ``albert-sk`` command in-process, for the CLI tests."""

from albert_sk import cli


def run(argv, capsys):
    """``main(argv)`` in-process: (exit code, stdout, stderr)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err
