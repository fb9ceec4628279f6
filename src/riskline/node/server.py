"""Run a node: ``python -m riskline.node.server --node DIR`` (what ``riskline node serve`` does).

uvicorn serves the FastAPI app (``app.py``) on the address in node.toml:

* HTTPS with mutual TLS (``tls.py``): our certificate, client certificates checked against the pinned peers'
  CAs; CAs of peers pinned while the server runs are trusted within a second. The client's certificate
  reaches the app through the ASGI scope's ``state`` (uvicorn's h11 protocol, subclassed here; uvicorn
  does not expose it otherwise).
* Plain HTTP only when node.toml says ``tls = false`` and the address is loopback; anything else is refused
  with a one-line error before binding.

Besides the API, the process runs the outbox worker (``delivery.Deliverer.run``), the attachment fetcher
(``attachments.Fetcher.run``, same interval) and the escalation task
(``escalate.escalate_due`` every ``escalation_interval`` seconds). It holds ``run/server.lock`` (one server
per node) and ``run/delivery.lock`` (so ``riskline outbox --flush`` does not deliver at the same time), and
writes ``run/server.json`` (pid, url) once listening. SIGTERM/SIGINT stop it gracefully; after a SIGKILL
nothing is lost: the next start rebuilds the tree from the database and delivery resumes from the outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from riskline.channel.sending import RetryPolicy
from riskline.node import tls
from riskline.node.app import TLS_PEER_CERT, create_app, stop_tasks
from riskline.node.attachments import Fetcher
from riskline.node.config import ListenAddress
from riskline.node.delivery import Deliverer
from riskline.node.errors import NodeBusy, NodeError
from riskline.node.escalate import escalate_due
from riskline.node.layout import NodePaths, default_node_dir
from riskline.node.local import LocalNode
from riskline.node.locks import FileLock
from riskline.storage import channel_store as store
from riskline.storage.errors import StorageError

log = logging.getLogger("riskline.node")


class PeerCertificateH11(H11Protocol):
    """uvicorn's h11 protocol, plus the TLS client certificate (DER, or None) in every request's ``state``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        certificate = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        self.app_state = {**self.app_state, TLS_PEER_CERT: certificate}


class ServerSettings:
    """Timing of the background tasks (tests shorten them)."""

    def __init__(
        self,
        *,
        delivery_interval: float = 0.2,
        escalation_interval: float = 1.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.delivery_interval = delivery_interval  # [s]
        self.escalation_interval = escalation_interval  # [s]
        self.retry = retry or RetryPolicy()


def _background(settings: ServerSettings, context: ssl.SSLContext | None) -> Any:
    @contextlib.asynccontextmanager
    async def tasks(node: LocalNode) -> AsyncIterator[None]:
        stop = asyncio.Event()
        deliverer = Deliverer(node, policy=settings.retry)
        fetcher = Fetcher(node)
        running = [
            asyncio.create_task(deliverer.run(stop, interval=settings.delivery_interval), name="delivery"),
            asyncio.create_task(fetcher.run(stop, interval=settings.delivery_interval), name="attachments"),
            asyncio.create_task(_escalation_loop(node, stop, settings.escalation_interval), name="escalation"),
        ]
        if context is not None:
            running.append(asyncio.create_task(_trust_new_peers(node, context, stop), name="trust"))
        try:
            yield
        finally:
            stop.set()
            await stop_tasks(*running)
            await deliverer.aclose()
            await fetcher.aclose()

    return tasks


async def _escalation_loop(node: LocalNode, stop: asyncio.Event, interval: float) -> None:
    while not stop.is_set():
        try:
            await node.call(escalate_due, node)
        except (NodeError, StorageError) as error:
            log.warning("escalation pass failed: %s", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def _trust_new_peers(node: LocalNode, context: ssl.SSLContext, stop: asyncio.Event) -> None:
    trusted: set[str] = set()
    def pinned_cas() -> list[str]:
        with node.reading() as connection:
            return [peer.ca_pem for peer in store.list_peers(connection) if peer.ca_pem]

    while not stop.is_set():
        for pem in await node.call(pinned_cas):
            if pem not in trusted:
                tls.trust_client_ca(context, pem.encode("ascii"))
                trusted.add(pem)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)


def bind(address: ListenAddress) -> socket.socket:
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and without it
    # Nagle's algorithm meets delayed ACKs and every request waits ~40 ms.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address.host, address.port))
    except OSError as error:
        sock.close()
        raise NodeError(f"cannot listen on {address}: {error.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(
    root: Path,
    *,
    port: int | None = None,
    settings: ServerSettings | None = None,
    companion: Callable[[LocalNode], contextlib.AbstractContextManager[object]] | None = None,
) -> None:
    """Run the node at ``root`` until SIGTERM/SIGINT. ``port`` overrides node.toml's (0: any free port).

    ``companion`` is entered once the node listens and left when it stops (the dashboard rides along this way).
    """
    settings = settings or ServerSettings()
    paths = NodePaths(root)
    server_lock = FileLock(paths.server_lock)
    node = LocalNode.open(root)
    with node.reading():
        pass  # rebuilds the tree: a log with a hole refuses to start (run `riskline log verify`)
    config = node.config
    config.check_plain_http_allowed()
    if not server_lock.try_acquire():
        raise NodeBusy(f"another server is already running for the node at {root}")
    delivery_lock = FileLock(paths.delivery_lock)
    if not delivery_lock.try_acquire():
        raise NodeBusy(f"`riskline outbox --flush` is delivering for {root}; try again in a moment")
    address = config.listen if port is None else ListenAddress(config.listen.host, port)
    context: ssl.SSLContext | None = None
    if config.tls:
        with node.reading() as connection:
            cas = [peer.ca_pem.encode("ascii") for peer in store.list_peers(connection) if peer.ca_pem]
        context = tls.server_context(str(paths.tls_cert), str(paths.tls_key), cas)
    sock = bind(address)
    bound_port = sock.getsockname()[1]
    scheme = "https" if config.tls else "http"
    host = address.host if ":" not in address.host else f"[{address.host}]"
    url = f"{scheme}://{host}:{bound_port}"
    app = create_app(node, background=_background(settings, context))

    def ssl_factory(_config: uvicorn.Config, _default: Any) -> ssl.SSLContext:
        assert context is not None
        return context

    uvicorn_config = uvicorn.Config(
        app,
        http=PeerCertificateH11,
        ssl_context_factory=ssl_factory if context is not None else None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        lifespan="on",
    )
    server = uvicorn.Server(uvicorn_config)
    # What is loaded so far lives as long as the process: keep it out of the cyclic collector's full passes,
    # which otherwise walk it every time and stall deliveries for tens of milliseconds.
    gc.collect()
    gc.freeze()
    paths.server_info.write_text(json.dumps({"pid": os.getpid(), "url": url, "node": config.id}), encoding="utf-8")
    print(f"riskline node {config.id} ({config.party}) listening on {url}", flush=True)
    try:
        with (
            _signals_end_the_server_not_the_process(),
            companion(node) if companion is not None else contextlib.nullcontext(),
        ):
            server.run(sockets=[sock])
    finally:
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            paths.server_info.unlink()
        node.close()
        delivery_lock.release()
        server_lock.release()


@contextlib.contextmanager
def _signals_end_the_server_not_the_process() -> Iterator[None]:
    """While uvicorn runs, SIGTERM and SIGINT are its (it stops gracefully); when it returns it raises the
    signals it caught again with the handlers it found. With Python's defaults that kills the process (SIGTERM)
    or raises ``KeyboardInterrupt`` before our clean-up runs (``run/server.json`` was left behind). The handlers
    it finds are these, which do nothing: the server has stopped already, and the clean-up follows."""

    def stopped_already(_signum: int, _frame: object) -> None:
        """uvicorn has stopped on this signal; the clean-up after it ends the process."""

    previous = {signum: signal.signal(signum, stopped_already) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m riskline.node.server", description="Run a riskline node.")
    parser.add_argument("--node", type=Path, default=None, help="node directory (default ./riskline-node)")
    parser.add_argument("--port", type=int, default=None, help="override the port in node.toml (0: any free one)")
    parser.add_argument("--delivery-interval", type=float, default=0.2, help="[s] between outbox passes")
    parser.add_argument("--escalation-interval", type=float, default=1.0, help="[s] between escalation passes")
    parser.add_argument("--retry-base", type=float, default=0.5, help="[s] first retry delay")
    parser.add_argument("--retry-cap", type=float, default=30.0, help="[s] longest retry delay")
    args = parser.parse_args(argv)
    settings = ServerSettings(
        delivery_interval=args.delivery_interval,
        escalation_interval=args.escalation_interval,
        retry=RetryPolicy(base=args.retry_base, cap=args.retry_cap),
    )
    try:
        serve(args.node or default_node_dir(), port=args.port, settings=settings)
    except (NodeError, StorageError) as error:
        print(f"riskline: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
