"""metastasim: a simulator of cancer metastasis, for one virtual patient or millions.

Educational and research software: it is not medical advice.
"""

from metastasim.version import __version__

__all__ = ["__version__"]
