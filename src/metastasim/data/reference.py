"""Read the published reference figures shipped in ``data/reference`` (each row names its source)."""

from __future__ import annotations

import io
from importlib import resources

import pandas as pd

#: Reference site names mapped onto the model's sites (rows not listed have no single-site equivalent).
REFERENCE_SITE_MAP: dict[str, str] = {
    "liver": "liver",
    "lung": "lung",
    "lung (contralateral)": "lung",
    "thoracic (lung/pleura/mediastinum)": "lung",
    "bone": "bone",
    "brain": "brain",
    "adrenal": "adrenal",
    "pleura": "pleura",
    "peritoneum": "peritoneum",
    "abdominal cavity (peritoneum)": "peritoneum",
    "distant lymph nodes": "distant_nodes",
}


def load_reference(name: str) -> pd.DataFrame:
    """Return one reference table, e.g. ``load_reference("metastatic_sites")``."""
    text = resources.files("metastasim.data").joinpath("reference", f"{name}.csv").read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text))


def metastatic_site_rows(cancer: str) -> pd.DataFrame:
    """Reference rows of metastatic_sites.csv for one primary (both lung types also match "lung")."""
    df = load_reference("metastatic_sites")
    return df[df["primary"] == cancer].reset_index(drop=True)


def most_common_reference_site(cancer: str) -> str | None:
    """The model site that the reference names most often for `cancer`, by its largest single-site row."""
    rows = metastatic_site_rows(cancer)
    rows = rows[rows["site"].isin(REFERENCE_SITE_MAP.keys()) | rows["site"].str.endswith(" only")]
    if rows.empty:
        return None
    best = rows.loc[rows["percent"].astype(float).idxmax(), "site"]
    best = best.removesuffix(" only")
    return REFERENCE_SITE_MAP.get(best, best)
