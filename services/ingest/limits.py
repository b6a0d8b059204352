"""The limits ingest holds its edges to, shared by the settings and the edges that apply them.

They live here, beside the core, so that `settings.py` reads no edge module to know its defaults.
"""

from dataclasses import dataclass

# FHIR resources nest about 10 levels (a Bundle adds 3). The R4B models recurse about 8 Python
# frames per level and hit the interpreter's recursion limit near 125 levels, so 64 is also the
# highest limit a deployment may configure.
MAX_JSON_DEPTH = 64

# the MLLP listener's defaults (each one a setting of `rmbc ingest`, or of the listener in tests)
DEFAULT_MAX_FRAME_BYTES = 1024 * 1024
DEFAULT_DEDUPE_SIZE = 10_000
DEFAULT_FRAME_TIMEOUT = 30.0
DEFAULT_ACCEPT_TIMEOUT = 30.0
DEFAULT_IDLE_TIMEOUT = 600.0
DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_MAX_RESOURCES = 1000

# Descriptors a listener leaves free below the open-file limit, whatever its cap: for Kafka's
# reconnections (one socket per broker, and the bootstrap and admin connections), a module
# imported late, a log file (see `admission.py`).
SPARE_DESCRIPTORS = 16
# What the process holds besides connections (about 10: standard streams, the event loop's
# selector and self-pipe, two listening sockets, Kafka's), with SPARE_DESCRIPTORS on top:
# caps + this must fit under the open-file limit (`rmbc ingest` warns at start when they do not).
DESCRIPTOR_RESERVE = 64


@dataclass(frozen=True)
class ConnectionLimits:
    """What the HTTP server allows one connection (see `fhir/server.py`)."""

    header_timeout: float
    idle_timeout: float
    max_connections: int
