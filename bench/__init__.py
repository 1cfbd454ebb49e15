"""twinbench's benchmark: Locust scenarios, the run orchestrator, statistics and the report.

``python -m bench run --profile quick`` measures; ``python -m bench report DIR`` writes the
report from a results directory. The bench talks to the twins only over HTTP, and calls
``shared`` directly only to measure the in-process floor.
"""
