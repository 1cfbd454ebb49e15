"""Running a benchmark: Milvus, the servers, CPU budgets, sampling, and one step at a time."""
