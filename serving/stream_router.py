"""``StreamAffinityRouter``: every call of one moderation stream goes to the replica holding it.

A stream's state (the key-value cache of its prompt so far) lives in the memory of the model
replica that opened it, so its later calls must reach that replica and no other, for the life
of the WebSocket connection. The replica names itself in the stream's id
(``REPLICA_UNIQUE_ID/RANDOM``); the ingress sends each later call with that id as the Serve
``session_id``; this router (the ingress's handle runs it) reads the home replica from the id.
The mapping is a pure function of the id: no table to keep in step, nothing to leak when a
client goes away, and replicas added by the autoscaler move no stream.

Calls without a stream id (scoring, opening a stream) take Serve's default power-of-two
choices. When the home replica is gone, the call goes to any replica, which answers that it
does not hold the stream (``stream_sessions.StreamLost``): the client gets a clear close
instead of a score computed without its prefix.

Configured on the model deployment (``ServingConfig.model_deployment_options``, class path
``config.STREAM_ROUTER_PATH``) through ``request_router_config``. Ray 2.60's router interface
is ``ray/serve/request_router.py``; the default policy extended here is
``ray/serve/_private/request_router/pow_2_router.py``.
"""

from __future__ import annotations

import uuid

# The default router is importable only from Serve's private package; its public surface
# (ray.serve.request_router) exports the base class and mixins it is built from.
from ray.serve._private.request_router.pow_2_router import PowerOfTwoChoicesRequestRouter

_SEPARATOR = "/"


def new_stream_id(replica_unique_id: str) -> str:
    """An id naming the replica that holds the stream and the stream itself."""
    return f"{replica_unique_id}{_SEPARATOR}{uuid.uuid4().hex}"


def home_of(stream_id: str) -> str:
    """The unique id of the replica that holds ``stream_id``."""
    return stream_id.partition(_SEPARATOR)[0]


class StreamAffinityRouter(PowerOfTwoChoicesRequestRouter):
    """Power of two choices, except that a call of an open stream goes to its home replica."""

    async def choose_replicas(self, candidate_replicas, pending_request=None):
        stream_id = pending_request.metadata.session_id if pending_request else ""
        if stream_id:
            home = home_of(stream_id)
            for replica in self._replicas.values():
                if replica.replica_id.unique_id == home:
                    # Only the home: when it is busy, the router backs off and asks it again.
                    return [[replica]]
        return await super().choose_replicas(candidate_replicas, pending_request)
