"""Pure domain layer: records, column names, Spark schemas and small Protocols.

Nothing in here imports another socialpulse package; everything else may import this.
"""
