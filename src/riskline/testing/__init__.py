"""Test doubles that ship with riskline, so users can test their rulebooks and integrations as riskline does.

- ``riskline.testing.clock`` — ``FakeClock``: time moves only when told to;
- ``riskline.testing.snapshots`` — a detector ``Snapshot`` built by hand from a few exact platforms;
- ``riskline.testing.flights`` — tiny exact encounters as observation streams;
- ``riskline.testing.nodes`` — the in-process node harness (two or more nodes on loopback);
- ``riskline.testing.fuzz`` — how many examples the fuzzers run (``RISKLINE_FUZZ_EXAMPLES``).

Scenario generators (the builder, real incidents rebuilt, the Baltic scenarios) live in ``riskline.scenarios``.
"""
