"""Units shared by every layer: simulated time is in days."""

DAYS_PER_YEAR = 365.25
