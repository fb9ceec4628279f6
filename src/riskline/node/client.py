"""HTTP clients to peer nodes: HTTPS with our client certificate trusting only the peer's pinned CA, or plain
HTTP to a loopback address; riskline error documents become ``PeerRejected``, network trouble ``PeerUnreachable``.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit

import httpx

from riskline.channel.sending import Refusal, refusal_of
from riskline.node.config import is_loopback_host
from riskline.node.errors import NotLoopback, PeerRejected, PeerUnreachable
from riskline.node.layout import NodePaths
from riskline.node.tls import client_context

CONNECT_TIMEOUT = 3.0  # [s]
REQUEST_TIMEOUT = 15.0  # [s]


def check_url(url: str) -> None:
    """Refuse what riskline will not talk to: anything but https, or http to a non-loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotLoopback(f"peer URL must be https://HOST:PORT (or http:// on loopback), got {url!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise NotLoopback(f"plain HTTP is allowed only on loopback; use https:// for {parts.hostname}")


def ssl_for(
    paths: NodePaths, url: str, peer_ca: bytes | None, *, present_certificate: bool = True
) -> ssl.SSLContext | bool:
    """What httpx's ``verify`` gets for ``url``: our mTLS context for https, False (unused) for http."""
    check_url(url)
    if urlsplit(url).scheme == "http":
        return False
    return client_context(str(paths.tls_cert), str(paths.tls_key), peer_ca, present_certificate=present_certificate)


def timeout() -> httpx.Timeout:
    return httpx.Timeout(REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT)


def error_document(response: httpx.Response) -> Refusal:
    """The riskline error document of a peer's non-200 answer (or a stand-in naming the HTTP status)."""
    return refusal_of(response.status_code, response.content, response.reason_phrase)


def rejected(response: httpx.Response, url: str) -> PeerRejected:
    refusal = error_document(response)
    return PeerRejected(
        f"{url} answered {response.status_code} {refusal.type}: {refusal.message}",
        status=response.status_code,
        error_type=refusal.type,
        field=refusal.field,
    )


def unreachable(url: str, error: Exception) -> PeerUnreachable:
    reason = str(error) or type(error).__name__
    return PeerUnreachable(f"cannot reach {url}: {' '.join(reason.split())}")


def get_json(paths: NodePaths, url: str, path: str, peer_ca: bytes | None, *, present_certificate: bool = False) -> Any:
    """``GET url+path`` synchronously (CLI use): the JSON body, or ``PeerRejected``/``PeerUnreachable``."""
    verify = ssl_for(paths, url, peer_ca, present_certificate=present_certificate)
    try:
        with httpx.Client(verify=verify, timeout=timeout()) as client:
            response = client.get(url.rstrip("/") + path)
            if response.status_code != 200:
                raise rejected(response, url)
            try:
                return response.json()
            except ValueError:
                raise PeerRejected(f"{url}{path} did not answer JSON", status=200, error_type="NotJSON") from None
    except (httpx.TransportError, ssl.SSLError, OSError) as error:
        raise unreachable(url, error) from None
