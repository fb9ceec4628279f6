"""One opened node: its config, identity key, database and the in-memory Merkle tree of its log.

The tree mirrors ``log_entries``: it is rebuilt from the stored leaf hashes when the node opens, and caught up
at the start of every transaction (``writing``/``reading``), because another process — the CLI sending a
message while the server runs — may have appended entries meanwhile. Appends happen only inside a write
transaction (SQLite ``BEGIN IMMEDIATE``: one writer at a time across processes), so the log index
assigned is always ``size`` of the caught-up tree. If a write transaction fails after appending to the tree,
the tree is rebuilt at the next transaction, so it never runs ahead of what was committed.

Time is a parameter: ``clock`` (default ``time.time``) is this node's own clock, the only one it decides on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

import tomli_w
from sqlalchemy.engine import Connection

from riskline.channel.canonical import canonical_json
from riskline.channel.checkpoint import Checkpoint, SignedCheckpoint, sign_checkpoint
from riskline.channel.envelope import Sender, SignedEnvelope
from riskline.channel.merkle import MerkleTree
from riskline.channel.receipt import Receiver
from riskline.channel.signing import Purpose, SigningKey, VerifyKey
from riskline.node import keys, tls
from riskline.node.books import Books
from riskline.node.config import (
    DEFAULT_PORT,
    ListenAddress,
    NodeConfig,
    check_party,
    load_config,
    parse_config,
    save_config,
    slug,
)
from riskline.node.errors import LogVerificationFailed, NodeConfigError, NodeExists, NodeNotFound
from riskline.node.layout import NodePaths
from riskline.node.locks import WriterGate
from riskline.storage import channel_store as store
from riskline.storage import seals, seals_pg
from riskline.storage.engine import Database, open_database

Clock = Callable[[], float]
P = ParamSpec("P")
T = TypeVar("T")
_GATE_TIMEOUT = 5.0  # [s] as long as SQLite's busy timeout
_REMEMBERED = 20_000
"""Most envelopes appended by this process kept for the books (beyond, they are parsed from the log)."""
_OPEN_LOCK = threading.Lock()


class LocalNode:
    """An opened node directory. Not thread-safe: one thread uses it — a CLI command's, or in the server the
    node's own thread (``call``), which owns its database connections, its in-memory tree and its signing key,
    so that SQLite commits and Ed25519 never run on the event loop and never race each other."""

    def __init__(self, paths: NodePaths, config: NodeConfig, identity: SigningKey, database: Database, clock: Clock):
        self.paths = paths
        self.config = config
        self.anchor = identity
        """The key the node was created with (keys/identity.pem): its TLS CA and row seals stay on it."""
        self._signing = keys.SigningState(identity)
        self.database = database
        self.clock = clock
        self.tree = MerkleTree()
        self._tree_valid = True
        self._config_mtime = _mtime(paths.config)
        self._books: Books | None = None
        self._appended: dict[int, SignedEnvelope] = {}
        self._gate = WriterGate(paths.write_lock)
        self._thread: ThreadPoolExecutor | None = None

    @classmethod
    def open(cls, root: Path, *, clock: Clock = time.time) -> LocalNode:
        paths = NodePaths(root)
        if not paths.exists():
            raise NodeNotFound(f"no node at {root} (run `riskline node init --party XX --name ...` first)")
        config = load_config(paths.config)
        identity = keys.load_identity(paths.identity)
        with _OPEN_LOCK:  # alembic's upgrade uses process-global state: one at a time per process
            database = open_database(config.database or paths.database, create=False, synchronous="FULL")
        node = cls(paths, config, identity, database, clock)
        try:
            node.seal()
        except BaseException:
            node.close()
            raise
        return node

    def seal(self) -> None:
        """Seal every table the log cannot vouch for (``storage/seals.py``); the triggers follow the schema."""
        sealer = seals.Sealer(seal_key(self.anchor))
        if self.database.dialect == "sqlite":
            seals.attach(self.database, sealer)
            with self.recording() as connection:
                seals.install(connection, sealer)
        elif self.database.dialect == "postgresql":  # the node seals in the app, the server notes (seals_pg.py)
            seals_pg.attach(self.database, sealer)
            with self.recording() as connection:
                seals_pg.install(connection, sealer)

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
        self.database.close()
        self._gate.close()

    async def call(self, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``function(*args, **kwargs)`` run on the node's own thread (one, started on first use), awaited from
        an event loop: the single writer of the server process, off the loop."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"riskline-node-{self.config.id}")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(function, *args, **kwargs))

    def __enter__(self) -> LocalNode:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- identity --------------------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """The name of this node's log in checkpoints: the node id."""
        return self.config.id

    @property
    def identity(self) -> SigningKey:
        """The key the node signs with now: the anchor, or the last key it rotated to (``riskline key rotate``),
        re-read when another process of the node rotates it."""
        return self._signing.current(self.paths)

    @property
    def key(self) -> VerifyKey:
        return self.identity.public_key

    @property
    def sender(self) -> Sender:
        return Sender(node=self.config.id, party=self.config.party, key=self.key)

    @property
    def receiver(self) -> Receiver:
        return Receiver(node=self.config.id, party=self.config.party, key=self.key)

    def reload_config(self) -> NodeConfig:
        """Re-read node.toml when it changed on disk (``channel add``/``peer add`` while the server runs)."""
        mtime = _mtime(self.paths.config)
        if mtime != self._config_mtime:
            self.config = load_config(self.paths.config)
            self._config_mtime = mtime
        return self.config

    def books(self, connection: Connection) -> Books:
        """The thread books, caught up with the log (rebuilt when the channels in node.toml changed)."""
        config = self.reload_config()
        if self._books is None or self._books.channels != config.channels:
            self._books = Books(config.channels, config.party)
        self._books.update(connection, self._recall)
        return self._books

    def remember(self, index: int, signed: SignedEnvelope) -> None:
        """Keep the envelope this process appended at ``index``, so the books need not parse it again."""
        if len(self._appended) >= _REMEMBERED:
            self._appended.clear()
        self._appended[index] = signed

    def _recall(self, index: int, data: bytes) -> SignedEnvelope | None:
        """The envelope remembered at ``index`` if its leaf is exactly ``data`` (a rolled-back append is not)."""
        signed = self._appended.pop(index, None)
        return signed if signed is not None and signed.leaf_data() == data else None

    def save_config(self, config: NodeConfig) -> None:
        save_config(self.paths.config, config)
        self.config = config
        self._config_mtime = _mtime(self.paths.config)

    # --- transactions and the tree ---------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE``) with the tree caught up; commits at the end.

        Taken behind the node's ``WriterGate``, so that writers of several processes hand the lock on at once.
        """
        self._gate.enter(timeout=_GATE_TIMEOUT)
        try:
            with self.database.begin() as connection:
                self._sync_tree(connection)
                yield connection
        except BaseException:
            self._tree_valid = False
            raise
        finally:
            self._gate.leave()

    @contextmanager
    def recording(self) -> Iterator[Connection]:
        """A write transaction for bookkeeping rows only (security and node events): no tree, behind the gate."""
        self._gate.enter(timeout=_GATE_TIMEOUT)
        try:
            with self.database.begin() as connection:
                yield connection
        finally:
            self._gate.leave()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.database.read() as connection:
            self._sync_tree(connection)
            yield connection

    def rebuild_tree(self, connection: Connection) -> None:
        """Rebuild the tree from what ``connection`` sees (after rolling back to a savepoint)."""
        self._tree_valid = False
        self._sync_tree(connection)

    def _sync_tree(self, connection: Connection) -> None:
        size = store.log_size(connection)
        if not self._tree_valid or size < self.tree.size:
            self.tree = MerkleTree.from_leaf_hashes(store.leaf_hashes_from(connection, 0))
            self._tree_valid = True
        elif size > self.tree.size:
            for leaf in store.leaf_hashes_from(connection, self.tree.size):
                self.tree.append_leaf_hash(leaf)
        if self.tree.size != size:
            raise LogVerificationFailed(
                f"log_entries of {self.paths.database} are not dense: {self.tree.size} rows but the last index is "
                f"{size - 1}; run `riskline log verify`",
                index=self.tree.size,
            )

    def stored_head(self, connection: Connection) -> SignedCheckpoint | None:
        """Our signed checkpoint of the current log size if one is stored already (else None: ``head`` signs it)."""
        latest = store.latest_checkpoint(connection)
        if latest is None or latest[0] != self.tree.size:
            return None
        return SignedCheckpoint.from_dict(json.loads(latest[1]))

    def head(self, connection: Connection) -> SignedCheckpoint:
        """Our signed checkpoint of the current log size (signed once per size and stored)."""
        size = self.tree.size
        stored = store.checkpoint_at(connection, size)
        if stored is not None:
            return SignedCheckpoint.from_dict(json.loads(stored))
        checkpoint = Checkpoint(self.origin, size, self.tree.root(), self.clock())
        signed = sign_checkpoint(self.identity, checkpoint)
        store.store_checkpoint(connection, size, checkpoint.root, _json(signed.to_dict()), self.clock())
        return signed


def seal_key(identity: SigningKey) -> bytes:
    """The node's row-seal key: a hash of a deterministic Ed25519 signature, so only the identity key yields it."""
    return hashlib.sha256(identity.sign(Purpose.ROW_SEAL, b"riskline row seals")).digest()


def _json(value: object) -> str:
    return canonical_json(value).decode("utf-8")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


@dataclass(frozen=True, slots=True)
class InitResult:
    """What ``node init`` made, for printing."""

    paths: NodePaths
    config: NodeConfig
    key: VerifyKey


def init_node(
    root: Path,
    *,
    party: str,
    name: str,
    node_id: str | None = None,
    listen: ListenAddress | None = None,
    tls_enabled: bool = True,
    url: str | None = None,
    now: float | None = None,
    database: str | None = None,
) -> InitResult:
    """Create a node directory: node.toml, identity key, TLS CA and certificate, migrated node.db.

    Refuses (``NodeExists``) when ``root`` already holds a node, or any of the files a node is made of.
    """
    paths = NodePaths(root)
    existing = [p for p in (paths.config, paths.identity, paths.ca_cert, paths.tls_cert, paths.database) if p.exists()]
    if existing:
        raise NodeExists(f"{root} already holds a node ({existing[0].name} exists); refusing to overwrite it")
    try:
        check_party(party)
    except ValueError as error:
        raise NodeConfigError(str(error)) from None
    address = listen or ListenAddress("127.0.0.1", DEFAULT_PORT)
    config = NodeConfig(
        id=node_id or slug(f"{party}-{name}"),
        name=name,
        party=party,
        listen=address,
        tls=tls_enabled,
        url=url,
        database=database,
    )
    config.check_plain_http_allowed()
    parse_config(tomli_w.dumps(config.to_toml()))  # validate what we are about to write (id pattern etc.)
    moment = dt.datetime.fromtimestamp(time.time() if now is None else now, tz=dt.UTC)
    root.mkdir(parents=True, exist_ok=True)
    for directory in (paths.keys_dir, paths.tls_dir, paths.run_dir):
        directory.mkdir(mode=0o700, exist_ok=True)
    identity = keys.generate_identity(paths.identity)
    keys.write_private(paths.ca_key, identity.to_pem())
    ca_pem = tls.make_ca(identity, name, moment)
    paths.ca_cert.write_bytes(ca_pem)
    hosts = [address.host] if address.host not in ("0.0.0.0", "::") else []
    if url:
        host = urlsplit(url).hostname
        if host:
            hosts.append(host)
    certificate = tls.make_node_certificate(identity, ca_pem, config.id, hosts, moment)
    paths.tls_cert.write_bytes(certificate.cert_pem)
    keys.write_private(paths.tls_key, certificate.key_pem)
    with _OPEN_LOCK:
        open_database(database or paths.database, create=True, synchronous="FULL").close()
    if database is None:
        os.chmod(paths.database, 0o600)
    save_config(paths.config, config)
    return InitResult(paths, config, identity.public_key)
