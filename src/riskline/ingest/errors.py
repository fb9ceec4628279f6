"""Errors of the ingest package.

    IngestError                 root: something about an input cannot be read at all
    ├── UnknownFormatError      the content matches no supported format (whose fault: the input)
    ├── UnreadableInputError    the file or stream cannot be opened or read (whose fault: the environment)
    └── InvalidOptionError      a reader option or a listen URL is wrong (whose fault: the caller);
                                also a ``ValueError``

Dirty data inside a readable input never raises: it is counted in ``IngestStats.rejected`` and skipped.
(``counting.Rejected``, which a decoder raises and catches itself to reject one unit, never leaves the package.)
"""

from __future__ import annotations

from riskline.errors import RisklineError


class IngestError(RisklineError):
    """Root of every ingest error; its message is one line, fit for an operator."""


class UnknownFormatError(IngestError):
    pass


class UnreadableInputError(IngestError):
    pass


class InvalidOptionError(IngestError, ValueError):
    pass
