"""dex — Data Engine X: a self-hostable, multi-tenant entity intelligence engine."""

import gc

__version__ = "0.1.0"

# Every dex process (the API, a worker, the sandbox, a CLI command) allocates many short-lived containers
# per request and per step — rows, contexts, parsed answers — while the default threshold (a young
# collection every 700 net allocations) made the collector a fifth of the API's CPU on a batch (measured
# with `dex bench -w A`: 3.8 s of 16.9 s; 0.13 s with this threshold, peak memory unchanged). Set here, the
# earliest point every process passes through, so the imports at start-up are spared too.
YOUNG_COLLECTION_THRESHOLD = 50_000
gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
