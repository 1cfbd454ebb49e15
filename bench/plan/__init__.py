"""What a benchmark measures: the topology (twins, floors, servers), the profiles, the steps."""
