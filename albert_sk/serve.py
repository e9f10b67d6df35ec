"""The former name of :mod:`albert_sk.server`, the HTTP JSON server of
``albert-sk serve``: ``from albert_sk.serve import Limits, create_app, serve``
keeps working. New code imports :mod:`albert_sk.server`.

Examples
--------
>>> from albert_sk import serve, server
>>> serve.create_app is server.create_app
True
"""

from albert_sk.server import Limits as Limits
from albert_sk.server import create_app as create_app
from albert_sk.server import serve as serve
