"""Test doubles that ship with riskline: a fake clock, a scenario builder, a two-node harness.

They are part of the public package so that users can test their own rulebooks and integrations the
way riskline tests itself. The scenario doubles live in their own modules:

- ``riskline.testing.scenario`` — ``ScenarioBuilder`` and the two-platform encounter helpers;
- ``riskline.testing.motion`` — the exact legs (``Straight``, ``Turn``, ``Hold``, ``Racetrack``, ``AttackRun``,
  ``Formation``) the builder flies;
- ``riskline.testing.incidents`` — real incidents (shared/domain/incidents.csv) rebuilt as scenarios;
- ``riskline.testing.synthetic`` — a labelled synthetic set for detection quality;
- ``riskline.testing.baltic`` — real traffic relocated into the Baltic: the busy hour and the demo scenario.
"""
