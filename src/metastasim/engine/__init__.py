"""The engine: one patient's state as arrays, the compiled event loop, chunks of patients, result tables."""
