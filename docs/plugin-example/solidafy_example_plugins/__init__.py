"""Example plugins for source_solidafy: one small class per kind (see each module)."""
