"""The shared core of twinbench: the only code that talks to Milvus and to the embedding model."""

import logging

# pymilvus configures its own loggers when first imported (level WARNING, a handler of its
# own), so the level must be set after that import, not before it.
import pymilvus  # noqa: F401

# pymilvus logs a full traceback for every failed RPC (every ~100 ms while Milvus is down or
# starting); the core logs one line per failure itself.
logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
