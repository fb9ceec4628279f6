"""The node's identity key on disk: written once with mode 0600, refused when others can read it (as ssh does).

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
