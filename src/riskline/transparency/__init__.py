"""Transparency of military activities: notifications held against the regime and against what the watch sees.

``regime`` (the Vienna Document 2011 as a TOML file), ``activity`` (the notification format), ``check`` (the
obligations and breaches of one notification), ``navtext`` (NAVAREA warnings and NOTAM Q-lines), ``observed``
(military activity from tracks) and ``compare`` (declared against observed). Pure core: no files, no clock.
"""
