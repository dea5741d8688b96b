"""Data: the Libra-Test row schema, IO by URI, validation, deduplication, synthesis."""
