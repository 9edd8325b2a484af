"""The errors hostmap raises on purpose.

    HostmapError                 base for everything raised on purpose
    ├── InputError               cannot use (part of) an input file
    │   ├── UnknownFormat        no reader recognised the file
    │   ├── MalformedInput       the bytes break the format's rules
    │   └── TruncatedInput       the input ends inside a record
    ├── OutputError              cannot write a report
    └── UsageError               contradictory or impossible options (exit code 2)

Programming errors stay ValueError/TypeError.
"""

from __future__ import annotations

__all__ = [
    "HostmapError",
    "InputError",
    "MalformedInput",
    "OutputError",
    "TruncatedInput",
    "UnknownFormat",
    "UsageError",
]


class HostmapError(Exception):
    """Something hostmap detected and can explain in one line."""


class InputError(HostmapError):
    """An input file (or part of it) cannot be used."""


class UnknownFormat(InputError):
    """No reader recognised the file."""


class MalformedInput(InputError):
    """The bytes break the format's rules."""


class TruncatedInput(InputError):
    """The input ends inside a record."""


class OutputError(HostmapError):
    """A report or map cannot be written."""


class UsageError(HostmapError):
    """The options given contradict each other or cannot be met."""
