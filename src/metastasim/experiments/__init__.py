"""In-silico re-creations of published metastasis experiments, run on the model's own parameters."""
