"""The biology of the cascade: one compiled module per process.

Growth, shedding, circulation, extravasation, colonisation, immune surveillance, evolution, lymph nodes
and local invasion.
"""
