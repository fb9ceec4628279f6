"""The input formats ingest understands: one table that feeds the sniffer, the options check and the docs.

Each format has a name (what ``detect_format`` returns and ``ReaderOptions.fmt`` accepts), the
``Observation.source`` it produces and a one-line description. docs/formats.md documents each in full.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InputFormat:
    name: str
    source: str
    """Value of ``Observation.source`` for observations read in this format."""
    description: str


INPUT_FORMATS: tuple[InputFormat, ...] = (
    InputFormat("nmea", "nmea", "AIS NMEA 0183 sentences (!AIVDM/!AIVDO), with tag blocks, epoch fields or $PGHP"),
    InputFormat("marinecadastre", "marinecadastre", "NOAA MarineCadastre AIS CSV (MMSI,BaseDateTime,LAT,LON,...)"),
    InputFormat("modes_jsonl", "modes", "Mode S / ADS-B JSON lines with `timestamp` and raw hex `frame`"),
    InputFormat("modes_csv", "modes", "Mode S / ADS-B CSV lines `timestamp,hex`"),
    InputFormat("beast", "beast", "Mode S Beast binary (dump1090 port 30005)"),
    InputFormat("sbs", "sbs", "SBS-1 BaseStation text (dump1090 port 30003, MSG,1..8)"),
    InputFormat("traffic_json", "traffic", "JSON records of the `traffic` library (array or JSON lines)"),
    InputFormat("table_csv", "table", "positions table as CSV: t,id,lat,lon[,party,domain,alt_m,...]"),
    InputFormat("table_parquet", "table", "positions table as Parquet, same columns as table_csv"),
)

FORMATS: tuple[str, ...] = tuple(fmt.name for fmt in INPUT_FORMATS)
"""Every format name, in the order above."""

SOURCE_OF: dict[str, str] = {fmt.name: fmt.source for fmt in INPUT_FORMATS}
