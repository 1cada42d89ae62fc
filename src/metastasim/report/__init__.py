"""Reports for people: one patient's story, cohort summaries as text."""
