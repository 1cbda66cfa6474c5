"""Spark transforms (DataFrame in, DataFrame out) and the job modules that read and write."""
