"""Scenario generators: encounters flown exactly, real incidents rebuilt, real traffic relocated.

They feed the demo, the benchmarks and ``riskline scenario``; the tests use them as well. Test doubles (a fake
clock, hand-built snapshots, tiny flights, the node harness) stay in ``riskline.testing``.

- ``riskline.scenarios.scenario`` — ``ScenarioBuilder`` and the two-platform encounter helpers;
- ``riskline.scenarios.motion`` — the exact legs (``Straight``, ``Turn``, ``Hold``, ``Racetrack``, ``AttackRun``,
  ``Formation``) the builder flies;
- ``riskline.scenarios.incidents`` — real incidents (shared/domain/incidents.csv) rebuilt as scenarios;
- ``riskline.scenarios.synthetic`` — a labelled synthetic set for detection quality;
- ``riskline.scenarios.baltic`` — real traffic relocated into the Baltic: the busy hour and the demo scenario.
"""
