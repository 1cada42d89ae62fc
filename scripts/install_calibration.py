"""Make a calibration the shipped default: python scripts/install_calibration.py FILE.calibrated.toml [...]."""

import sys
from pathlib import Path

from metastasim.calibration.install import install

CANCERS = Path(__file__).resolve().parents[1] / "src" / "metastasim" / "data" / "cancers"

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for path in sys.argv[1:]:
        import tomllib

        cancer = tomllib.loads(Path(path).read_text())["run"]["cancer"]
        names = install(path, CANCERS / f"{cancer}.toml")
        print(f"{cancer}: {', '.join(names)} written to {CANCERS / f'{cancer}.toml'}")
