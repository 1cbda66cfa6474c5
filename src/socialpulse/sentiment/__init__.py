"""Sentiment backends behind one interface (``domain.protocols.SentimentBackend``)."""
