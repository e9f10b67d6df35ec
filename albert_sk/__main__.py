"""``python -m albert_sk``: the ``albert-sk`` command line."""

import sys

from albert_sk.cli import main

sys.exit(main())
