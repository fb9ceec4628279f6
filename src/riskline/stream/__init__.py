"""riskline.stream: live intake spread over processes on NATS JetStream (an edge, like ``storage``).

``riskline ingest … --to nats://…`` publishes decoded observations to the stream ``RISKLINE_OBSERVATIONS``
(``Nats-Msg-Id`` = a hash of the observation, so a report published twice — a restarted receiver, two
receivers hearing one ship — is stored once); ``riskline watch --from nats://…`` reads them through a durable
consumer and publishes the encounters it closes to ``RISKLINE_ENCOUNTERS`` for the node and the dashboard.
See docs/scaling.md.
"""

from riskline.stream.codec import (
    decode_encounter,
    decode_observation,
    encode_encounter,
    encode_observation,
    encounter_id,
    observation_id,
)
from riskline.stream.errors import BrokerUnreachable, StreamError
from riskline.stream.jetstream import (
    ENCOUNTER_STREAM,
    ENCOUNTER_SUBJECT,
    OBSERVATION_STREAM,
    OBSERVATION_SUBJECT,
    JetStreamLink,
    StreamCounts,
)

__all__ = [
    "ENCOUNTER_STREAM",
    "ENCOUNTER_SUBJECT",
    "OBSERVATION_STREAM",
    "OBSERVATION_SUBJECT",
    "BrokerUnreachable",
    "JetStreamLink",
    "StreamCounts",
    "StreamError",
    "decode_encounter",
    "decode_observation",
    "encode_encounter",
    "encode_observation",
    "encounter_id",
    "observation_id",
]
