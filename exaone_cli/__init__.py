"""exaone: the command line for LG AI Research's EXAONE 4.5."""

__version__ = "0.2.0"
