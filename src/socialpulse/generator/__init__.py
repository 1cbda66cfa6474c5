"""Synthetic social data with planted ground truth: posts, interactions, users, labels.

``generate(GeneratorConfig(posts=N, ...), out_dir)`` writes, deterministically for a seed:

- ``posts/part-NNNNN.jsonl``: one raw post per line (``RAW_POST_FIELDS`` + ``schema_version``),
  originals, replies, quotes, retweets, re-deliveries (same ``post_id``, more likes, later
  ``ingested_at``) and malformed lines of every kind in ``malformed.POST_BREAKERS``.
- ``interactions/part-NNNNN.jsonl``: ``user_id, post_id, kind, ts[, weight]``, each on a post
  created before ``ts``, mostly on topics the user prefers and, within a topic, on its recent
  posts in proportion to their appeal ``(likes + 1) ** appeal_exponent``; a few malformed.
- ``truth/users.jsonl`` (topic preferences ``{hashtag: weight}``, sentiment disposition,
  activity), ``truth/topics.jsonl`` (hashtags and nouns per topic), ``truth/posts.jsonl`` (one
  line per post line: ``file``, ``line``, ``post_id``, ``category``, ``malformed_kind``,
  ``topic``, intended ``label``, ``strength`` and ``appeal``) and ``truth/manifest.json``
  (seed, parameters, exact counts, and the counts the batch pipeline must report:
  ``expected_pipeline``).
"""

from socialpulse.generator.engine import (
    MANIFEST,
    GenerationCounts,
    GeneratorConfig,
    generate,
)

__all__ = ["MANIFEST", "GenerationCounts", "GeneratorConfig", "generate"]
