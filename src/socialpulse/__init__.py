"""socialpulse: real-time sentiment analysis and recommendations for social media data."""

__version__ = "0.1.0"
