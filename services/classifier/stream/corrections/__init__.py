"""Corrections to faust-streaming 0.15.3, each a hook on faust's own classes or bookkeeping:
what faust does wrong, the hook and the test that fails without it are listed in
docs/faust-corrections.md. Nothing here knows a clinical rule."""
