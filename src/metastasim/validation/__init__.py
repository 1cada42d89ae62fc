"""Validation: independent reference models and published data the engine is checked against."""
