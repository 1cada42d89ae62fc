"""The biology of the cascade: one compiled module per process (growth, shedding, circulation,
extravasation, colonisation, immune surveillance, evolution, lymph nodes, local invasion).
"""
