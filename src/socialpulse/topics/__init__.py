"""Topic models: what posts are about, beyond their hashtags (``base.TopicModel``, ``registry``)."""
