"""The broker behind a URL — RabbitMQ (``amqp://``) or Redis (``redis://``) — and the one message kind.

A message names a few steps and nothing else: the worker claims them from PostgreSQL, and a message for a
step that is no longer ready does nothing for it, so the publisher may send at least once and duplicates
are harmless. Several steps share a message because a message is what costs: the broker's enqueue and
acknowledgement, the worker's decoding and hand-over to its event loop.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

import dramatiq
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

from dex.errors import ConfigurationError

STEP_QUEUE = "dex-steps"
STEP_ACTOR = "dex_run_steps"
# Steps named by one message at most. A worker takes its --concurrency in messages of this size, so it
# runs about concurrency / STEPS_PER_MESSAGE threads.
STEPS_PER_MESSAGE = 25
# Steps sent together go in this many messages at least, so a small burst still reaches many workers.
MESSAGES_PER_SEND = 16


REDIS_SCHEMES = ("redis", "rediss", "unix")
# Redis clients of a process share this many connections and wait for a free one. redis-py's default pool
# (100, failing past them) made a worker's 200 threads fail their acknowledgements with "Too many
# connections" under load, and Dramatiq retries those only after 5 s.
REDIS_CONNECTIONS = 64
REDIS_CONNECTION_WAIT_SECONDS = 30


def is_redis_url(url: str) -> bool:
    return urlsplit(url).scheme in REDIS_SCHEMES


def describe_broker(url: str) -> str:
    """scheme://host:port for messages — never the password."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or 'localhost'}{port}"


def connect_broker(url: str) -> dramatiq.Broker:
    if is_redis_url(url):
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_CONNECTION_WAIT_SECONDS
        )
        return RedisBroker(client=redis.Redis(connection_pool=pool))
    if urlsplit(url).scheme in ("amqp", "amqps"):
        # No publisher confirms: waiting for each one cuts publishing to a quarter, and a message RabbitMQ
        # loses is sent again by the outbox sweeper anyway.
        return RabbitmqBroker(url=url)
    raise ConfigurationError("the broker URL must start with amqp:// (RabbitMQ) or redis:// (Redis)")


def step_messages(step_ids: Sequence[uuid.UUID]) -> Iterator[dramatiq.Message]:
    """The messages naming ``step_ids``, in their order: :data:`MESSAGES_PER_SEND` at least (while there are
    steps for them), :data:`STEPS_PER_MESSAGE` steps at most in each."""
    size = max(1, min(STEPS_PER_MESSAGE, len(step_ids) // MESSAGES_PER_SEND))
    for start in range(0, len(step_ids), size):
        chunk = [str(step_id) for step_id in step_ids[start : start + size]]
        yield dramatiq.Message(
            queue_name=STEP_QUEUE, actor_name=STEP_ACTOR, args=(chunk,), kwargs={}, options={}
        )
