"""The REST API: app factory (``app``), composition root (``deps``), models (``schemas``)."""
