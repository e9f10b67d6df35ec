"""The albert_sk version: a leaf module (no imports), so the modules that
write it into files (``model_file``, ``export``, ``server``) and the
command line read it without importing the package root."""

__version__ = "0.1.0"
