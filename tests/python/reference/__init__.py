"""The real evlib 0.13.2 as a reference for the compatibility tests (see harness.py)."""
