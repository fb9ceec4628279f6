"""The node's HTTP API (FastAPI): what one national node answers to its peers.

    GET  /v1/health                          liveness, log size, outbox backlog
    GET  /v1/node                            who we are: id, name, party, key, fingerprint, CA, signed head
    POST /v1/channels/{channel}/envelopes    a delivery (channel.md wire format) → signed receipt
    POST /v1/channels/{channel}/batches      a delivery batch (envelopes in seq order, one head) → receipts
    GET  /v1/log/checkpoint                  our signed log head
    GET  /v1/log/consistency?from=&to=       RFC 9162 consistency proof between two sizes of our log
    GET  /v1/log/entries?start=&end=         log entries (envelopes of channels the caller is a member of)
    GET  /v1/channels/{channel}/messages/{id}/attachments/{sha256}
                                             the bytes of an attachment of one of our messages (node/attachments.py)
    GET  /openapi.json                       this API's OpenAPI document

Errors are ``{"error": {"type", "message", "field"}}`` with the exception's HTTP status (plus ``expected``
for ``OutOfOrder``/``ConsistencyBaseMismatch``: where the sender resumes, and ``index`` for a batch: which of
its envelopes was refused); every rejection is written to
``security_events``. Over HTTPS every endpoint but ``/v1/health`` and ``/v1/node`` needs a client certificate
from a pinned peer's CA (``NotAuthenticated``, 401). No input yields a 5xx: inputs are bounded and every
error has a status.

Handlers are ``async`` and hand every use of the node to its own thread (``LocalNode.call``): one thread owns
the node (its database connections, its in-memory tree, its key), so requests and the delivery worker never
race inside the process, and SQLite commits and Ed25519 never hold up the event loop; SQLite transactions
order them against other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from riskline.channel.checkpoint import SignedCheckpoint
from riskline.channel.envelope import SignedEnvelope
from riskline.channel.errors import ChannelError, MalformedEnvelope, OutOfRange
from riskline.channel.protocol import MAX_BATCH, ConsistencyBaseMismatch, OutOfOrder
from riskline.node.attachments import AttachmentNotFound, served_attachment
from riskline.node.audit_peers import witness_statement
from riskline.node.config import NodeConfig
from riskline.node.errors import NodeError
from riskline.node.local import LocalNode
from riskline.node.receiving import REFUSED_INDEX, Caller, authenticated_peer, receive, receive_batch
from riskline.storage import channel_store as store
from riskline.storage.errors import StorageError

TLS_PEER_CERT = "riskline.tls_peer_certificate"
"""Key in the ASGI scope's ``state`` where the server puts the client's certificate (DER) or None."""
MAX_ENTRIES = 1000
"""Most log entries one ``GET /v1/log/entries`` returns."""
MAX_SIZE = 2**53 - 1


# --- response models (OpenAPI) -----------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(_Model):
    type: str = Field(description="The error class, e.g. ReplayedEnvelope.")
    message: str = Field(description="One line for an operator.")
    field: str | None = Field(default=None, description="The offending member, e.g. envelope.sender.key.")
    expected: int | None = Field(
        default=None, description="OutOfOrder: the seq expected; ConsistencyBaseMismatch: the from_size expected."
    )
    index: int | None = Field(
        default=None, description="A batch: the position of the refused envelope (those before it were taken)."
    )


class ErrorBody(_Model):
    error: ErrorDetail


class CheckpointModel(_Model):
    origin: str
    size: int
    root: str = Field(description="Lower-case hex SHA-256 RFC 9162 root.")
    timestamp: float = Field(description="[s] POSIX, the signer's clock.")


class SignedCheckpointModel(_Model):
    checkpoint: CheckpointModel
    signer: str = Field(description="ed25519:<base64>")
    signature: str = Field(description="base64 Ed25519 signature, purpose 'checkpoint'.")


class CosignatureModel(_Model):
    checkpoint: CheckpointModel
    witness: str
    signature: str
    timestamp: float


class PartyNodeModel(_Model):
    node: str
    party: str
    key: str


class ReceiptModel(_Model):
    v: int
    envelope_id: str
    envelope_hash: str
    channel: str
    receiver: PartyNodeModel
    received: float
    log_index: int
    receiver_checkpoint: SignedCheckpointModel
    inclusion_proof: list[str]
    cosignature: CosignatureModel
    duplicate: bool
    signature: str


class AuthorModel(_Model):
    name: str
    role: str


class LogHeadModel(_Model):
    size: int
    root: str


class PeerHeadModel(_Model):
    origin: str
    size: int
    root: str


class AttachmentModel(_Model):
    name: str
    sha256: str
    media_type: str
    size: int


class EnvelopeModel(_Model):
    v: int
    id: str
    channel: str
    type: str
    schema_: int = Field(alias="schema")
    seq: int
    thread: str
    in_reply_to: str | None
    sender: PartyNodeModel
    recipients: list[str]
    author: AuthorModel
    level: str
    language: str
    created: float
    deadline: float | None
    body: dict[str, Any]
    attachments: list[AttachmentModel]
    sender_checkpoint: LogHeadModel
    peer_checkpoint: PeerHeadModel | None
    signature: str


class InclusionModel(_Model):
    index: int
    proof: list[str]


class ConsistencyRequestModel(_Model):
    from_size: int
    proof: list[str]


class DeliveryModel(_Model):
    envelope: EnvelopeModel
    checkpoint: SignedCheckpointModel
    inclusion: InclusionModel
    consistency: ConsistencyRequestModel


class BatchItemModel(_Model):
    envelope: EnvelopeModel
    inclusion: InclusionModel


class DeliveryBatchModel(_Model):
    items: list[BatchItemModel] = Field(
        min_length=1, max_length=MAX_BATCH, description="Envelopes of this channel from one sender, in seq order."
    )
    checkpoint: SignedCheckpointModel
    consistency: ConsistencyRequestModel


class BatchAnswerModel(_Model):
    receipts: list[ReceiptModel] = Field(description="One per envelope taken, in order.")
    error: ErrorDetail | None = Field(
        description="Why the envelope at ``index`` = len(receipts) was refused (it and those after it were not "
        "taken); null when every envelope was."
    )


class NodeInfo(_Model):
    id: str
    name: str
    party: str
    key: str = Field(description="ed25519:<base64> identity key; also the key of the node's TLS CA.")
    fingerprint: str = Field(description="SHA256:<base64>, SSH style.")
    url: str
    ca_pem: str | None = Field(description="The node's TLS CA certificate (its key is ``key``); None over plain HTTP.")
    channels: list[str]
    checkpoint: SignedCheckpointModel


class Health(_Model):
    status: str
    log_size: int
    outbox_pending: int


class ConsistencyProof(_Model):
    from_size: int
    to_size: int
    proof: list[str]


class LogEntryModel(_Model):
    index: int
    leaf_hash: str
    channel: str | None = Field(description="None when the caller is not a member of the entry's channel.")
    envelope: dict[str, Any] | None = Field(
        description="The signed envelope; None (redacted) when the caller is not a member of its channel."
    )


class LogEntries(_Model):
    start: int
    end: int
    size: int
    entries: list[LogEntryModel]


_ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 422)}


# --- request bodies ------------------------------------------------------------------------------------------
# A delivery's body is parsed once, by ``riskline.channel.protocol`` (strict, naming the bad member): the models
# above only describe it in the OpenAPI document, they do not parse it a second time.


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI ``requestBody`` of a route whose body is ``model`` (see ``with_request_models``)."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def with_request_models(document: dict[str, Any], models: tuple[type[BaseModel], ...]) -> dict[str, Any]:
    """``document`` with the schemas of ``models`` (and the models they use) among its components."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return document


async def json_body(request: Request) -> Any:
    """The request's body as JSON, read and parsed once; ``MalformedEnvelope`` (422) when it is not JSON."""
    try:
        return json.loads(await request.body())
    except (ValueError, RecursionError) as error:
        raise MalformedEnvelope(f"the body is not JSON: {error}") from None


# --- the app -------------------------------------------------------------------------------------------------


def error_detail(error: Exception, *, index: int | None = None) -> dict[str, Any]:
    """The ``error`` member of an error document (``ErrorDetail``)."""
    expected: int | None = None
    if isinstance(error, OutOfOrder):
        expected = error.expected_seq
    elif isinstance(error, ConsistencyBaseMismatch):
        expected = error.expected_from_size
    detail: dict[str, Any] = {
        "type": type(error).__name__,
        "message": " ".join(str(error).split()) or type(error).__name__,
        "field": getattr(error, "field", None),
    }
    if expected is not None:
        detail["expected"] = expected
    if index is not None:
        detail["index"] = index
    return detail


def error_response(error: Exception, status: int) -> JSONResponse:
    index = getattr(error, REFUSED_INDEX, None)
    return JSONResponse(status_code=status, content={"error": error_detail(error, index=index)})


def caller_of(request: Request) -> Caller:
    client = request.client
    state = request.scope.get("state") or {}
    return Caller(
        remote=None if client is None else f"{client.host}:{client.port}",
        tls=request.url.scheme == "https",
        client_certificate=state.get(TLS_PEER_CERT),
    )


def create_app(
    node: LocalNode,
    *,
    background: Callable[[LocalNode], contextlib.AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """The node's ASGI app. ``background`` (the server's delivery and escalation tasks) runs with its lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if background is None:
            yield
        else:
            async with background(node):
                yield

    app = FastAPI(
        title="riskline node",
        version="1",
        description="One party's riskline node: signed, logged, receipted channel messages (docs/node.md).",
        lifespan=lifespan,
        # Served below behind the client certificate, like the API it describes. No /docs or /redoc: their
        # pages load scripts from a CDN, which an air-gapped node cannot reach.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )

    def signed_head() -> SignedCheckpoint:
        with node.writing() as connection:
            return node.head(connection)

    async def record(request: Request, error: Exception, status: int, **context: Any) -> None:
        if getattr(error, "riskline_recorded", False):
            return
        await node.call(record_on_node_thread, caller_of(request), error, status, context.get("channel"))

    def record_on_node_thread(caller: Caller, error: Exception, status: int, channel: str | None) -> None:
        try:
            with node.recording() as connection:
                store.record_security_event(
                    connection,
                    at=node.clock(),
                    kind=type(error).__name__,
                    status=status,
                    message=" ".join(str(error).split())[:500],
                    remote=caller.remote,
                    channel=channel,
                )
        except StorageError:
            pass

    @app.exception_handler(ChannelError)
    async def on_channel_error(request: Request, error: ChannelError) -> JSONResponse:
        await record(request, error, error.http_status)
        return error_response(error, error.http_status)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("body",))
        problem = MalformedEnvelope(f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg")))
        await record(request, problem, 422)
        response = error_response(problem, 422)
        content = json.loads(bytes(response.body))
        content["error"]["field"] = where or None
        return JSONResponse(status_code=422, content=content)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        problem = MalformedEnvelope(str(error.detail)) if error.status_code in (400, 422) else None
        if problem is not None:
            await record(request, problem, error.status_code)
        content = {
            "error": {
                "type": "MalformedEnvelope" if problem else "HTTPError",
                "message": str(error.detail),
                "field": None,
            }
        }
        return JSONResponse(status_code=error.status_code, content=content, headers=error.headers)

    @app.exception_handler(StorageError)
    async def on_storage(request: Request, error: StorageError) -> JSONResponse:
        return error_response(error, error.http_status)

    @app.exception_handler(NodeError)
    async def on_node_error(request: Request, error: NodeError) -> JSONResponse:
        return error_response(error, 409)

    async def require_peer(request: Request) -> str | None:
        """The authenticated peer's party (None over plain HTTP: loopback, the operator's own machine).

        A dependency, so that it runs before the body is validated: no certificate, no 422 either.
        """
        peer = await node.call(authenticated_peer, node, caller_of(request))
        return None if peer is None else peer.party

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(_peer: str | None = Depends(require_peer)) -> JSONResponse:
        if app.openapi_schema is None:
            app.openapi_schema = with_request_models(app.openapi(), (DeliveryModel, DeliveryBatchModel))
        return JSONResponse(app.openapi_schema)

    @app.get("/v1/health", response_model=Health, tags=["node"])
    async def health() -> Health:
        def look() -> Health:
            with node.reading() as connection:
                pending = store.outbox_counts(connection).get("pending", 0)
                return Health(status="ok", log_size=node.tree.size, outbox_pending=pending)

        return await node.call(look)

    @app.get("/v1/node", response_model=NodeInfo, tags=["node"])
    async def node_info() -> JSONResponse:
        config, head = await node.call(lambda: (node.reload_config(), signed_head()))
        ca = node.paths.ca_cert.read_text(encoding="ascii") if config.tls else None
        info = {
            "id": config.id,
            "name": config.name,
            "party": config.party,
            "key": node.key.to_text(),
            "fingerprint": node.key.fingerprint,
            "url": config.public_url,
            "ca_pem": ca,
            "channels": [channel.id for channel in config.channels],
            "checkpoint": head.to_dict(),
        }
        return JSONResponse(info)

    @app.post(
        "/v1/channels/{channel}/envelopes",
        response_model=ReceiptModel,
        responses=_ERRORS,
        tags=["channel"],
        summary="Deliver one signed envelope; answers with a signed receipt",
        openapi_extra=request_body(DeliveryModel),
    )
    async def deliver(
        request: Request,
        _peer: str | None = Depends(require_peer),
        channel: str = Path(max_length=64, description="Channel id, e.g. RU-EE"),
    ) -> JSONResponse:
        receipt = await node.call(receive, node, channel, await json_body(request), caller_of(request))
        return JSONResponse(receipt.to_wire())

    @app.post(
        "/v1/channels/{channel}/batches",
        response_model=BatchAnswerModel,
        responses=_ERRORS,
        tags=["channel"],
        summary="Deliver envelopes of one channel in seq order under one checkpoint; answers with receipts",
        openapi_extra=request_body(DeliveryBatchModel),
    )
    async def deliver_batch(
        request: Request,
        _peer: str | None = Depends(require_peer),
        channel: str = Path(max_length=64, description="Channel id, e.g. RU-EE"),
    ) -> Response:
        answer = await node.call(receive_batch, node, channel, await json_body(request), caller_of(request))
        receipts = b",".join(receipt.canonical() for receipt in answer.receipts)
        error = b"null"
        if answer.error is not None:
            error = json.dumps(error_detail(answer.error, index=answer.refused_index)).encode("utf-8")
        return Response(b'{"receipts":[' + receipts + b'],"error":' + error + b"}", media_type="application/json")

    @app.get("/v1/log/checkpoint", response_model=SignedCheckpointModel, responses=_ERRORS, tags=["log"])
    async def checkpoint(_peer: str | None = Depends(require_peer)) -> JSONResponse:
        return JSONResponse((await node.call(signed_head)).to_dict())

    @app.get("/v1/log/witness", responses=_ERRORS, tags=["log"], summary="What this node witnessed (log audit)")
    async def witness(
        _peer: str | None = Depends(require_peer),
        origin: str = Query(max_length=64, description="The asking node's id: whose cosigned head to show"),
    ) -> JSONResponse:
        return JSONResponse((await node.call(witness_statement, node, origin)).to_dict())

    @app.get("/v1/log/consistency", response_model=ConsistencyProof, responses=_ERRORS, tags=["log"])
    async def consistency(
        _peer: str | None = Depends(require_peer),
        from_size: int = Query(alias="from", ge=0, le=MAX_SIZE),
        to_size: int | None = Query(default=None, alias="to", ge=0, le=MAX_SIZE),
    ) -> ConsistencyProof:
        def prove() -> ConsistencyProof:
            with node.reading():
                size = node.tree.size
                target = size if to_size is None else to_size
                if target > size or from_size > target:
                    raise OutOfRange(f"consistency from {from_size} to {target}: the log has {size} entries")
                proof = node.tree.consistency_proof(from_size, target)
            return ConsistencyProof(from_size=from_size, to_size=target, proof=[h.hex() for h in proof])

        return await node.call(prove)

    @app.get("/v1/log/entries", response_model=LogEntries, responses=_ERRORS, tags=["log"])
    async def entries(
        party: str | None = Depends(require_peer),
        start: int = Query(ge=0, le=MAX_SIZE),
        end: int | None = Query(default=None, ge=0, le=MAX_SIZE, description="Exclusive; at most start + 1000."),
    ) -> JSONResponse:
        def read() -> tuple[NodeConfig, int, int, list[store.LogEntry]]:
            config = node.reload_config()
            with node.reading() as connection:
                size = node.tree.size
                stop = min(size, start + MAX_ENTRIES) if end is None else end
                if start > stop or stop > size:
                    raise OutOfRange(f"entries {start}..{stop}: the log has {size} entries")
                if stop - start > MAX_ENTRIES:
                    raise OutOfRange(f"at most {MAX_ENTRIES} entries per request, asked for {stop - start}")
                return config, size, stop, store.log_range(connection, start, stop)

        config, size, stop, rows = await node.call(read)
        visible = {c.id for c in config.channels if party is None or party in c.members}
        result = []
        for entry in rows:
            shown = entry.channel in visible
            result.append(
                {
                    "index": entry.index,
                    "leaf_hash": entry.leaf_hash.hex(),
                    "channel": entry.channel if shown else None,
                    "envelope": SignedEnvelope.from_leaf(entry.data).to_wire() if shown else None,
                }
            )
        return JSONResponse({"start": start, "end": stop, "size": size, "entries": result})

    @app.get(
        "/v1/channels/{channel}/messages/{envelope_id}/attachments/{sha256}",
        responses={**_ERRORS, 200: {"content": {"application/octet-stream": {}}}},
        tags=["channel"],
        summary="The bytes of an attachment of one of our messages, to a member of its channel",
    )
    async def attachment(
        party: str | None = Depends(require_peer),
        channel: str = Path(max_length=64),
        envelope_id: str = Path(pattern="^[0-9a-f]{32}$"),
        sha256: str = Path(pattern="^[0-9a-f]{64}$"),
    ) -> Response:
        try:
            listed, data = await node.call(served_attachment, node, channel, envelope_id, sha256, party)
        except AttachmentNotFound as error:
            return error_response(error, 404)
        return Response(data, media_type=listed.media_type)

    return app


async def stop_tasks(*tasks: asyncio.Task[Any]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
