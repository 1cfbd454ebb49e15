"""The workshop kit: labs a room runs offline (docs/workshop), and the check that runs them."""
