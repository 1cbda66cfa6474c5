"""Synthetic social data with planted ground truth: posts, interactions, users, labels.

``generate(GeneratorConfig(...), out_dir)`` writes ``posts/``, ``interactions/`` and
``truth/`` in the landing format the batch pipeline reads. See ``engine`` for the design.
"""

from socialpulse.generator.engine import (
    MANIFEST,
    GenerationCounts,
    GeneratorConfig,
    generate,
)

__all__ = ["MANIFEST", "GenerationCounts", "GeneratorConfig", "generate"]
