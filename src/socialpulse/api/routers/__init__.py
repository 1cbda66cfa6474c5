"""One router builder per resource; each receives the objects it needs from ``create_app``."""
