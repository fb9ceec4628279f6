"""The incident picture is a real PNG of both tracks and the separation."""

from __future__ import annotations

import io

from matplotlib.image import imread

from riskline.detection.rulebook import load_rulebook
from riskline.incidents.plot import render_incident_png
from riskline.testing.flights import head_on_pass
from riskline.watch import Watch


def test_the_plot_of_a_real_encounter_is_a_png_of_the_expected_size() -> None:
    watch = Watch(load_rulebook())
    closed = [e for o in head_on_pass() for e in watch.feed(o)] + watch.finish()
    png = render_incident_png(closed[0], threshold_m=926.0)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = imread(io.BytesIO(png)).shape
    assert (width, height) == (1200, 520)


def test_an_encounter_without_evidence_still_plots() -> None:
    watch = Watch(load_rulebook())
    for o in head_on_pass(seconds=210):
        watch.feed(o)
    [open_encounter] = watch.tracker.open_encounters()
    assert open_encounter.evidence is None
    assert render_incident_png(open_encounter)[:4] == b"\x89PNG"
