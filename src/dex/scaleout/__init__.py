"""The scale-out executor: the pipeline's steps run as Dramatiq actors on any number of machines, over
RabbitMQ or Redis, against one PostgreSQL, sharing the embedded executor's state machine and step function.

- ``outbox``: ready steps reach the broker *after commit* — the transaction that makes a step ready also
  writes its outbox row, a publisher sends due rows (round-robin across orgs, with a bounded backlog), a
  sweeper sends again what was lost. ``dex serve --executor dramatiq`` runs it.
- ``worker``: ``dex worker`` — the step actor claims the step its message names and runs the embedded
  executor's step function, recording the outcome with the same state changes (``pipeline.progress``).
- ``limits``: per-provider concurrency caps and rates shared by every worker, in Redis.
- ``broker``: the broker behind a URL and the one message kind, "run this step".

PostgreSQL stays the truth: a message only says "this step may be ready"; duplicates and stale messages
claim nothing.
"""
