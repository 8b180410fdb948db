"""databases."""
