"""Cohorts: many virtual patients, simulated in chunks (optionally in several processes), stored, summarised."""
