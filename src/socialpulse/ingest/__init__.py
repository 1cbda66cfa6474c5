"""Post sources: the X API v2 client, the stand-in X server, file replay; mapping to raw records."""
