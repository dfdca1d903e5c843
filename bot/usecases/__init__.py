"""Use cases: one decision each, in one write transaction, returning a typed result."""
