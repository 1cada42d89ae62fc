"""Random numbers: counter-based Philox draws and one named stream per decision."""
