"""Test doubles that ship with riskline: a fake clock, a scenario builder, a two-node harness.

They are part of the public package so that users can test their own rulebooks and integrations the
way riskline tests itself.
"""
