"""The node's channel tables (migration ``0002_channel``), declared on the shared ``metadata``, one module per
aggregate; each query takes the connection of a transaction the caller holds.

* ``log``          ``log_entries``: the append-only RFC 9162 Merkle log: every envelope sent or received, as the
                   exact canonical bytes that were hashed (``data``), in log order (``idx``, from 0).
* ``messages``     one row per envelope, the operator's view: thread, type, who, the peer's clock
                   (``created``), ours (``received``/``sent``/``deadline``) and whether it awaits a reply.
* ``outbox``       one row per (envelope, recipient node): the transactional outbox that delivery drains.
* ``receipts``     signed receipts, both the ones we gave (``Direction.IN``) and got (``Direction.OUT``).
* ``checkpoints``  our own signed log heads, one per size (``checkpoints``); signed heads of peers' logs we
                   have seen, and cosignatures given and received (``peer_checkpoints``).
* ``peers``        pinned peers (local name, node id, party, URL, key, fingerprint, TLS CA) and, per peer,
                   what we accepted from it and the last size of our log it cosigned (``peer_state``).
* ``escalations``  each escalation step taken for an unanswered message.
* ``events``       every rejected request or failed check (``security_events``) and what the operator must be
                   told (``node_events``): permanent delivery failures, escalations, equivocation.
* ``states``       the enums of the states and kinds these tables hold.

Everything a delivery changes is written in the same transaction as its log entry. Callers use the package
as one namespace: ``from riskline.storage import channel_store as store; store.append_log(...)``.
"""

from riskline.storage.channel_store.checkpoints import (
    all_checkpoints,
    all_peer_checkpoints,
    checkpoint_at,
    checkpoints,
    latest_checkpoint,
    latest_peer_checkpoint,
    peer_checkpoints,
    peer_checkpoints_of_size,
    store_checkpoint,
    store_peer_checkpoint,
)
from riskline.storage.channel_store.escalations import (
    EscalationRow,
    escalations,
    insert_escalation,
    list_escalations,
)
from riskline.storage.channel_store.events import (
    NodeEventRow,
    SecurityEventRow,
    list_node_events,
    list_security_events,
    node_events,
    record_node_event,
    record_security_event,
    security_events,
)
from riskline.storage.channel_store.log import (
    LogEntry,
    append_log_many,
    envelope_ids_from,
    iter_leaves,
    iter_log,
    leaf_hashes_from,
    log_entries,
    log_entries_by_envelopes,
    log_entry,
    log_entry_by_envelope,
    log_range,
    log_size,
)
from riskline.storage.channel_store.messages import (
    MessageRow,
    insert_messages,
    last_seq,
    list_messages,
    mark_answered,
    message,
    messages,
    messages_by_prefix,
)
from riskline.storage.channel_store.outbox import (
    Delivered,
    OutboxRow,
    insert_outbox_rows,
    mark_delivered,
    outbox,
    outbox_counts,
    outbox_rows,
    pending_after,
    pending_by_channel,
    pending_due,
    postpone_outbox,
    requeue_outbox,
    resume_outbox,
    retry_failed,
    update_outbox,
)
from riskline.storage.channel_store.peers import (
    PeerRow,
    PeerStateRow,
    delete_peer,
    list_peers,
    peer_by_key,
    peer_by_name,
    peer_by_node,
    peer_state,
    peer_state_of,
    peers,
    save_peer_state,
    upsert_peer,
)
from riskline.storage.channel_store.receipts import (
    StoredReceipt,
    all_receipts,
    receipt,
    receipts,
    receipts_of,
    store_receipts,
)
from riskline.storage.channel_store.states import (
    CheckpointKind,
    Direction,
    MessageStatus,
    OutboxState,
    check_in,
)

__all__ = [
    "CheckpointKind",
    "Delivered",
    "Direction",
    "EscalationRow",
    "LogEntry",
    "MessageRow",
    "MessageStatus",
    "NodeEventRow",
    "OutboxRow",
    "OutboxState",
    "PeerRow",
    "PeerStateRow",
    "SecurityEventRow",
    "StoredReceipt",
    "all_checkpoints",
    "all_peer_checkpoints",
    "all_receipts",
    "append_log_many",
    "check_in",
    "checkpoint_at",
    "checkpoints",
    "delete_peer",
    "envelope_ids_from",
    "escalations",
    "insert_escalation",
    "insert_messages",
    "insert_outbox_rows",
    "iter_leaves",
    "iter_log",
    "last_seq",
    "latest_checkpoint",
    "latest_peer_checkpoint",
    "leaf_hashes_from",
    "list_escalations",
    "list_messages",
    "list_node_events",
    "list_peers",
    "list_security_events",
    "log_entries",
    "log_entries_by_envelopes",
    "log_entry",
    "log_entry_by_envelope",
    "log_range",
    "log_size",
    "mark_answered",
    "mark_delivered",
    "message",
    "messages",
    "messages_by_prefix",
    "node_events",
    "outbox",
    "outbox_counts",
    "outbox_rows",
    "peer_by_key",
    "peer_by_name",
    "peer_by_node",
    "peer_checkpoints",
    "peer_checkpoints_of_size",
    "peer_state",
    "peer_state_of",
    "peers",
    "pending_after",
    "pending_by_channel",
    "pending_due",
    "postpone_outbox",
    "receipt",
    "receipts",
    "receipts_of",
    "record_node_event",
    "record_security_event",
    "requeue_outbox",
    "resume_outbox",
    "retry_failed",
    "save_peer_state",
    "security_events",
    "store_checkpoint",
    "store_peer_checkpoint",
    "store_receipts",
    "update_outbox",
    "upsert_peer",
]
