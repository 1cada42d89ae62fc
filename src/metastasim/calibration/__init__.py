"""Calibration by approximate Bayesian computation (ABC-SMC) against the validation targets."""
