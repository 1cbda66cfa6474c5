"""Recommendations: ALS and popularity recommenders, splitters, ranking metrics, the jobs."""
