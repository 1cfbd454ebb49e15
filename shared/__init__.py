"""The shared core of twinbench: the only code that talks to Milvus and to the embedding model."""

import logging

# pymilvus logs a full traceback for every failed RPC (every ~100 ms while Milvus is down or
# starting); the core logs one line per failure itself.
logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
