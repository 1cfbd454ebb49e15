"""From recorded results to answers: aggregates, ratios, decomposition, soak and claims.

Reads only :mod:`bench.results` (and :mod:`bench.stats`): never the source tree, never the
profiles or the topology as today's code defines them.
"""
