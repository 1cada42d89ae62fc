"""metastasim: a simulator of cancer metastasis, for one virtual patient or millions.

Educational and research software: it is not medical advice.
"""

from metastasim.api import PatientSimulation, PatientStory, load_parameters, run_cohort, simulate_patient
from metastasim.version import __version__

__all__ = ["PatientSimulation", "PatientStory", "__version__", "load_parameters", "run_cohort", "simulate_patient"]
