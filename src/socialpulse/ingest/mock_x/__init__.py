"""The stand-in X API v2 server (FastAPI), its post feeds and its fault modes."""
