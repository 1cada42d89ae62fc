"""Data files: parameter defaults, cancer types and reference figures, each with its source."""
