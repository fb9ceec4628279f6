"""The node's identity key on disk: written once with mode 0600, refused when others can read it (as ssh does).

After ``riskline key rotate`` the node signs with a later key, ``keys/identity-N.pem`` (N = 2, 3, …), named
by ``keys/current``; ``keys/identity.pem`` stays the anchor (its TLS CA and row seals).

The identity is an Ed25519 key (``riskline.channel.signing``). It signs every envelope, checkpoint,
cosignature and receipt, and it is also the key of the node's TLS CA (``tls.py``), so a peer that pins the
identity key pins the TLS CA too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from riskline.channel.errors import MalformedKey
from riskline.channel.signing import SigningKey
from riskline.node.errors import NodeConfigError
from riskline.node.layout import NodePaths

CURRENT_POINTER = "current"
"""File in keys/ naming the key file the node signs with (absent: keys/identity.pem)."""

PRIVATE_MODE = 0o600


def write_private(path: Path, data: bytes) -> None:
    """Create ``path`` with mode 0600 and write ``data``; refuses to overwrite an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        raise NodeConfigError(f"{path} already exists; refusing to overwrite a private key") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def read_private(path: Path) -> bytes:
    """The bytes of a private-key file, refused when group or others may read it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise NodeConfigError(f"private key {path} is missing") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise NodeConfigError(
            f"private key {path} is accessible by others (mode {stat.S_IMODE(mode):o}); run: chmod 600 {path}"
        )
    return path.read_bytes()


def generate_identity(path: Path) -> SigningKey:
    """A fresh Ed25519 identity written to ``path`` (0600)."""
    key = SigningKey.generate()
    write_private(path, key.to_pem())
    return key


def load_identity(path: Path) -> SigningKey:
    """The identity key at ``path``; one-line ``NodeConfigError`` when missing, exposed or not Ed25519."""
    data = read_private(path)
    try:
        return SigningKey.from_pem(data)
    except MalformedKey as error:
        raise NodeConfigError(f"identity key {path}: {error}") from None


def rotated_key_path(paths: NodePaths) -> Path:
    """The next free ``keys/identity-N.pem``."""
    number = 2
    while (paths.keys_dir / f"identity-{number}.pem").exists():
        number += 1
    return paths.keys_dir / f"identity-{number}.pem"


def point_current(paths: NodePaths, key_file: Path) -> None:
    """Make ``key_file`` (in keys/) the key the node signs with: ``keys/current`` replaced atomically."""
    pointer = paths.keys_dir / CURRENT_POINTER
    staging = pointer.with_suffix(".tmp")
    staging.unlink(missing_ok=True)
    with open(staging, "w", encoding="utf-8") as handle:
        handle.write(key_file.name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, pointer)


def key_files(paths: NodePaths) -> list[Path]:
    """Every identity key file of the node, the anchor first."""
    rotated = sorted(paths.keys_dir.glob("identity-*.pem"), key=lambda p: int(p.stem.removeprefix("identity-")))
    return [paths.identity, *rotated]


class SigningState:
    """The key a node signs with now, re-read when ``keys/current`` changes (another process rotated it)."""

    __slots__ = ("_anchor", "_key", "_stamp")

    def __init__(self, anchor: SigningKey) -> None:
        self._anchor = anchor
        self._key = anchor
        self._stamp: int | None = None

    def current(self, paths: NodePaths) -> SigningKey:
        pointer = paths.keys_dir / CURRENT_POINTER
        try:
            stamp = pointer.stat().st_mtime_ns
        except FileNotFoundError:
            return self._anchor
        if stamp != self._stamp:
            name = pointer.read_text(encoding="utf-8").strip()
            if "/" in name or not name.startswith("identity"):
                raise NodeConfigError(f"{pointer} names {name!r}, not a key file in {paths.keys_dir}")
            self._key = load_identity(paths.keys_dir / name)
            self._stamp = stamp
        return self._key
