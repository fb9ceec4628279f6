"""riskline: watch, channel, transparency and dialogue for preventing dangerous military incidents.

Data flows ``ingest → tracks → detection → incidents → channel → node``; ``storage``, ``web`` and ``cli``
sit at the edges and are never imported by the core.
"""

__version__ = "0.1.0"
