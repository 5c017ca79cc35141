"""The errors that a user's input causes, under one base class.

:class:`Error` is the base of every error the library raises for something the user asked for:
a network file out of range, inputs of the wrong shape, a network that does not fit a board, a
missing tool, a board that does not answer. The command line prints exactly these as one line
(``spikefab: error: ...``, exit status 2); any other exception is a bug in spikefab and keeps
its traceback. :class:`InvalidValue` and :class:`InvalidType` are also ``ValueError`` and
``TypeError``, so callers that catch those keep working.

This module imports nothing, so every layer (``golden`` first) can raise these.
"""

__all__ = ["Error", "InvalidValue", "InvalidType"]


class Error(Exception):
    """An error in what the user asked for; the message says what, the allowed range and the
    value."""


class InvalidValue(Error, ValueError):
    """A value out of its allowed range (``"Threshold ... must be an integer in [0, 32767],
    not 40000"``)."""


class InvalidType(Error, TypeError):
    """A value of the wrong kind (``"Threshold ... must be an integer ..., not 'high'"``)."""
