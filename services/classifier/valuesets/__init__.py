"""The SNOMED CT value sets the classifier reads: built from public code lists (build.py),
refreshed from a trust's terminology server (refresh.py), read once at start (load.py)."""
