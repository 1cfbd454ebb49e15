"""The shared core of twinbench: the only code that talks to Milvus and to the embedding model.

:data:`VERSION` is the project's version (pyproject.toml's), which both twins' OpenAPI
documents state.
"""

import logging

# pymilvus configures its own loggers when first imported (level WARNING, a handler of its
# own), so the level must be set after that import, not before it.
import pymilvus  # noqa: F401

__all__ = ["VERSION"]

VERSION = "0.1.0"

# pymilvus logs a full traceback for every failed RPC, and retries many times a second while
# Milvus is down or starting; the core logs one line per failure itself.
logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
