"""Studies: one-off probes, each behind one document (the index is studies/README.md)."""
