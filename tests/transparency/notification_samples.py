"""A real notification to vary: Zapad-2017 as declared (REGIMES.md §7: 12,700 troops, ~680 armoured vehicles,
~200 artillery systems; 14–20 September 2017, Belarus and Russia's western regions)."""

from __future__ import annotations

from typing import Any

ZAPAD_AREA = {
    "type": "Polygon",
    "coordinates": [[[23.5, 52.0], [31.0, 52.0], [31.0, 55.5], [23.5, 55.5], [23.5, 52.0]]],
}

ZAPAD_2017: dict[str, Any] = {
    "party": "RU",
    "designation": "ZAPAD-2017",
    "purpose": "Joint strategic exercise of the armed forces of Belarus and Russia",
    "states": ["BY", "RU"],
    "level_of_command": "joint strategic command",
    "notified": "2017-07-13T00:00:00Z",
    "start": "2017-09-14T00:00:00Z",
    "end": "2017-09-20T23:59:59Z",
    "area": ZAPAD_AREA,
    "troops": 12700,
    "tanks": 70,
    "acv": 250,
    "artillery": 200,
    "mlrs": 10,
    "helicopters": 40,
    "aircraft_sorties": 70,
    "naval_vessels": 10,
    "calendar_year_listed": True,
}
