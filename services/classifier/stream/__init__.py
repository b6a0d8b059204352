"""The classifier's stream: a faust worker keyed by patient. `app.create_app` composes it, the
agent (`agent.py`) carries each event through the pure core, and `corrections/` holds what
faust-streaming 0.15.3 needs corrected (docs/faust-corrections.md)."""
