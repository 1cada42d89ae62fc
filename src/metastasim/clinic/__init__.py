"""The clinic: what can be seen, decided and done for a simulated patient."""
