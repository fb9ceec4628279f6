"""node.toml: who this node is, where it listens, its channels and its pinned peers.

The file is the operator's: read with ``tomllib``, checked by pydantic models (``extra="forbid"``, so a typo
is an error, not a silently ignored key), and turned into frozen dataclasses. Written back with ``tomli_w``
by ``node init``, ``peer add`` and ``channel add`` — comments an operator adds are not kept.

    [node]
    id = "ee-mod"                      # the node's id on the wire (envelopes, checkpoint origin)
    name = "Estonian Defence Forces ops"
    party = "EE"
    listen = "127.0.0.1:8700"          # host:port the server binds
    tls = true                         # false: plain HTTP, allowed only on loopback
    url = "https://ee.example:8700"    # optional: how peers reach us (printed by ``node init``)

    [author]                           # default author of messages sent from this node's CLI
    name = "Duty officer"
    role = "duty_officer"

    [[channel]]                        # channel.md "Channel config"
    id = "RU-EE"
    kind = "bilateral"
    members = ["RU", "EE"]
    agreements = []                    # [] = no agreement in force, printed as such
    ...

    [[peer]]                           # written by ``peer add``; node.db holds the same pin and the CA
    name = "ru"
    node = "ru-nmdc"
    party = "RU"
    url = "http://127.0.0.1:8701"
    key = "ed25519:…"
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from riskline.channel.policy import ChannelPolicy, InvalidPolicy
from riskline.node.errors import NodeConfigError, NodeNotFound, NotLoopback, UnknownChannel, UnknownPeer

DEFAULT_PORT = 8700
_NODE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_PARTY = re.compile(r"^[A-Z][A-Z0-9_-]{0,15}$")


@dataclass(frozen=True, slots=True)
class ListenAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and every loopback IP (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_listen(text: str) -> ListenAddress:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6; port 0 = any free port) to a ``ListenAddress``."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise NodeConfigError(f"listen address must be HOST:PORT, got {text!r}")
    return ListenAddress(host.strip("[]"), int(port_text))


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    role: str


def policy_to_toml(policy: ChannelPolicy) -> dict[str, Any]:
    """The ``[[channel]]`` table that ``ChannelPolicy.from_config`` reads back to an equal policy."""
    table: dict[str, Any] = {
        "id": policy.id,
        "kind": str(policy.kind),
        "members": list(policy.members),
        "agreements": list(policy.agreements),
        "rulebook": policy.rulebook,
        "levels": [str(level) for level in policy.levels],
        "languages": list(policy.languages),
        "ladder": [str(level) for level in policy.ladder],
        "max_age_s": policy.max_age_s,
        "escalation_min_step_s": policy.escalation_min_step_s,
    }
    if policy.council is not None:
        table["council"] = policy.council
    if policy.deadlines:
        table["deadlines"] = {str(kind): span for kind, span in policy.deadlines.items()}
    if policy.forums:
        table["forums"] = [forum.to_toml() for forum in policy.forums]
    return table


def agreements_text(policy: ChannelPolicy) -> str:
    """The agreements in force, or the words "no agreement in force"."""
    return "; ".join(policy.agreements) if policy.agreements else "no agreement in force"


@dataclass(frozen=True, slots=True)
class PeerConfig:
    name: str
    """Our local name for the peer (``peer add NAME``)."""
    node: str
    """The peer's own node id (from its ``GET /v1/node``)."""
    party: str
    url: str
    key: str
    """``ed25519:<base64>``: the pin."""

    def to_toml(self) -> dict[str, Any]:
        return {"name": self.name, "node": self.node, "party": self.party, "url": self.url, "key": self.key}


@dataclass(frozen=True, slots=True)
class NodeConfig:
    id: str
    name: str
    party: str
    listen: ListenAddress
    tls: bool = True
    url: str | None = None
    author: Author = Author("Duty officer", "duty_officer")
    channels: tuple[ChannelPolicy, ...] = ()
    peers: tuple[PeerConfig, ...] = ()
    database: str | None = None
    """SQLAlchemy URL of the node's database (PostgreSQL for a national centre); None: ``node.db`` beside this."""

    @property
    def public_url(self) -> str:
        """How peers reach this node: ``url`` when set, else built from the listen address."""
        if self.url:
            return self.url
        scheme = "https" if self.tls else "http"
        host = "127.0.0.1" if self.listen.host in ("0.0.0.0", "::") else self.listen.host
        return f"{scheme}://{host if ':' not in host else f'[{host}]'}:{self.listen.port}"

    def channel(self, channel_id: str) -> ChannelPolicy:
        for channel in self.channels:
            if channel.id == channel_id:
                return channel
        known = ", ".join(c.id for c in self.channels) or "none"
        raise UnknownChannel(f"no channel {channel_id!r} on node {self.id} (channels: {known})")

    def has_channel(self, channel_id: str) -> bool:
        return any(channel.id == channel_id for channel in self.channels)

    def peer(self, name: str) -> PeerConfig:
        for peer in self.peers:
            if name in (peer.name, peer.node):
                return peer
        raise UnknownPeer(f"no peer {name!r} pinned on node {self.id}")

    def check_plain_http_allowed(self) -> None:
        if not self.tls and not self.listen.is_loopback:
            raise NotLoopback(
                f"plain HTTP is allowed only on loopback; {self.listen} is not (set tls = true in node.toml)"
            )

    def with_channel(self, channel: ChannelPolicy) -> NodeConfig:
        if self.has_channel(channel.id):
            raise NodeConfigError(f"channel {channel.id!r} already exists on node {self.id}")
        return replace(self, channels=(*self.channels, channel))

    def with_peer(self, peer: PeerConfig) -> NodeConfig:
        others = tuple(p for p in self.peers if p.name != peer.name)
        return replace(self, peers=(*others, peer))

    def to_toml(self) -> dict[str, Any]:
        node: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "party": self.party,
            "listen": str(self.listen),
            "tls": self.tls,
        }
        if self.url:
            node["url"] = self.url
        if self.database:
            node["database"] = self.database
        document: dict[str, Any] = {"node": node, "author": {"name": self.author.name, "role": self.author.role}}
        if self.channels:
            document["channel"] = [policy_to_toml(channel) for channel in self.channels]
        if self.peers:
            document["peer"] = [peer.to_toml() for peer in self.peers]
        return document


# --- the file's schema (pydantic at the edge) -------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _NodeSection(_Strict):
    id: str
    name: str = Field(min_length=1)
    party: str
    listen: str = f"127.0.0.1:{DEFAULT_PORT}"
    tls: bool = True
    url: str | None = None
    database: str | None = None

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _NODE_ID.match(value):
            raise ValueError("node id is lower-case letters, digits, '.', '_' or '-', up to 63 characters")
        return value

    @field_validator("party")
    @classmethod
    def _party(cls, value: str) -> str:
        return check_party(value)


class _AuthorSection(_Strict):
    name: str = Field(min_length=1)
    role: str = "duty_officer"


class _PeerSection(_Strict):
    name: str = Field(min_length=1)
    node: str = Field(min_length=1)
    party: str
    url: str = Field(min_length=1)
    key: str


class _ConfigFile(_Strict):
    node: _NodeSection
    author: _AuthorSection = _AuthorSection(name="Duty officer")
    channel: list[dict[str, Any]] = Field(default_factory=list)
    peer: list[_PeerSection] = Field(default_factory=list)


def check_party(value: str) -> str:
    if not _PARTY.match(value):
        raise ValueError(f"party is an upper-case code like 'EE' or 'RU', got {value!r}")
    return value


def channel_from_table(table: dict[str, Any]) -> ChannelPolicy:
    """A ``ChannelPolicy`` from one ``[[channel]]`` table (``NodeConfigError`` naming the first problem)."""
    try:
        return ChannelPolicy.from_config(table)
    except InvalidPolicy as error:
        raise NodeConfigError(str(error)) from None


def _first_problem(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def parse_config(text: str, source: str = "node.toml") -> NodeConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise NodeConfigError(f"{source} is not valid TOML: {error}") from None
    try:
        parsed = _ConfigFile.model_validate(raw)
    except ValidationError as error:
        raise NodeConfigError(f"{source}: {_first_problem(error)}") from None
    ids = [table.get("id") for table in parsed.channel]
    if len(set(ids)) != len(ids):
        raise NodeConfigError(f"{source}: a channel id appears twice")
    return NodeConfig(
        id=parsed.node.id,
        name=parsed.node.name,
        party=parsed.node.party,
        listen=parse_listen(parsed.node.listen),
        tls=parsed.node.tls,
        url=parsed.node.url,
        database=parsed.node.database,
        author=Author(parsed.author.name, parsed.author.role),
        channels=tuple(channel_from_table(table) for table in parsed.channel),
        peers=tuple(PeerConfig(name=p.name, node=p.node, party=p.party, url=p.url, key=p.key) for p in parsed.peer),
    )


def load_config(path: Path) -> NodeConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NodeNotFound(
            f"no node at {path.parent}: {path.name} is missing (run `riskline node init` first)"
        ) from None
    return parse_config(text, str(path))


def save_config(path: Path, config: NodeConfig) -> None:
    """Write atomically (temp file + rename), so a crash never leaves half a config."""
    temporary = path.with_suffix(".toml.tmp")
    temporary.write_text(tomli_w.dumps(config.to_toml()), encoding="utf-8")
    temporary.replace(path)


def slug(text: str) -> str:
    """A node id from a display name: lower case, runs of other characters become '-'."""
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:63].strip("-")
    return value or "node"
