"""Errors of the stream edge.

    StreamError (503)                   root: the broker cannot do what was asked
    ├── BrokerUnreachable (503)         no NATS server answers at the URL (whose fault: the environment)
    └── BadStreamMessage (422)          a message on a riskline subject that riskline did not write
"""

from __future__ import annotations

from riskline.errors import RisklineError


class StreamError(RisklineError):
    http_status = 503


class BrokerUnreachable(StreamError):
    pass


class BadStreamMessage(StreamError, ValueError):
    http_status = 422
