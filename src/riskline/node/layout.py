"""Where a node keeps its things: one directory per node, one place that names every file in it.

    DIR/
    ├── node.toml            config: identity, listen address, channels, peers (``config.py``)
    ├── node.db              SQLite: the Merkle log, messages, outbox, receipts, peers (``storage``)
    ├── keys/identity.pem    the node's Ed25519 identity key, PKCS#8, mode 0600
    ├── tls/ca.pem           self-signed CA certificate whose key IS the identity key
    ├── tls/ca.key           the CA's private key (a copy of keys/identity.pem), mode 0600
    ├── tls/node.pem         TLS server+client certificate (ECDSA P-256) signed by the CA
    ├── tls/node.key         its private key, mode 0600
    └── run/                 lock files and ``server.json`` of the running server

Every command takes ``--node DIR``. Without it: ``$RISKLINE_NODE`` when set, else the current directory when it
holds a node (``./node.toml``), else ``./riskline-node`` (where ``node init`` puts a node by default).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_NODE_DIR = "riskline-node"
NODE_DIR_ENV = "RISKLINE_NODE"


def default_node_dir() -> Path:
    """``$RISKLINE_NODE`` when set, else ``.`` when it holds a node, else ``./riskline-node``."""
    configured = os.environ.get(NODE_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(".") if Path("node.toml").is_file() else Path(DEFAULT_NODE_DIR)


@dataclass(frozen=True, slots=True)
class NodePaths:
    """Every path inside one node directory."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "node.toml"

    @property
    def database(self) -> Path:
        return self.root / "node.db"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def identity(self) -> Path:
        return self.keys_dir / "identity.pem"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def ca_cert(self) -> Path:
        return self.tls_dir / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.tls_dir / "ca.key"

    @property
    def tls_cert(self) -> Path:
        return self.tls_dir / "node.pem"

    @property
    def tls_key(self) -> Path:
        return self.tls_dir / "node.key"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def server_lock(self) -> Path:
        """Held (``flock``) by the one server process of this node while it runs."""
        return self.run_dir / "server.lock"

    @property
    def delivery_lock(self) -> Path:
        """Held by whoever delivers the outbox: the server's worker or ``riskline outbox --flush``."""
        return self.run_dir / "delivery.lock"

    @property
    def write_lock(self) -> Path:
        """Taken (``flock``) by every riskline process around its write transactions (``locks.WriterGate``)."""
        return self.run_dir / "write.lock"

    @property
    def server_info(self) -> Path:
        """``{"pid": …, "url": …}`` written by a running server."""
        return self.run_dir / "server.json"

    def exists(self) -> bool:
        return self.config.is_file()
