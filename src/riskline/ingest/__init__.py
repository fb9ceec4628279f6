"""riskline.ingest: bytes in, ``Observation``s out.

Every supported input (AIS NMEA, NOAA MarineCadastre CSV, Mode S JSON lines/CSV/Beast, SBS-1, ``traffic``
JSON records, positions tables) is sniffed from its content and streamed through a decoder that counts
every unit of input in ``IngestStats``. docs/formats.md describes each format.
"""

from riskline.ingest.beast import read_beast
from riskline.ingest.errors import IngestError, InvalidOptionError, UnknownFormatError, UnreadableInputError
from riskline.ingest.formats import FORMATS, INPUT_FORMATS, InputFormat
from riskline.ingest.live import LiveListener, listen, parse_listen_url
from riskline.ingest.marinecadastre import read_marinecadastre
from riskline.ingest.modes_text import read_modes_csv, read_modes_jsonl
from riskline.ingest.nmea import read_nmea
from riskline.ingest.observation import Domain, Kind, Observation
from riskline.ingest.options import ReaderOptions
from riskline.ingest.sbs import read_sbs
from riskline.ingest.sniff import detect_format
from riskline.ingest.sources import read_bytes_stream, read_format, read_path
from riskline.ingest.stats import IngestStats
from riskline.ingest.table import read_table_csv, read_table_parquet
from riskline.ingest.traffic import read_traffic_json

__all__ = [
    "FORMATS",
    "INPUT_FORMATS",
    "Domain",
    "IngestError",
    "IngestStats",
    "InputFormat",
    "InvalidOptionError",
    "Kind",
    "LiveListener",
    "Observation",
    "ReaderOptions",
    "UnknownFormatError",
    "UnreadableInputError",
    "detect_format",
    "listen",
    "parse_listen_url",
    "read_beast",
    "read_bytes_stream",
    "read_format",
    "read_marinecadastre",
    "read_modes_csv",
    "read_modes_jsonl",
    "read_nmea",
    "read_path",
    "read_sbs",
    "read_table_csv",
    "read_table_parquet",
    "read_traffic_json",
]
