"""One-off studies beside the harness, e.g. the Milvus backend probe behind the defaults."""
