"""Read the published reference figures shipped in ``data/reference`` (each row names its source)."""

from __future__ import annotations

import io
from dataclasses import dataclass
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
    """Reference rows of metastatic_sites.csv for one primary.

    A row whose ``recorded_sites`` is set (e.g. "bone;brain;liver;lung") comes from a source that recorded
    only those sites: its "X only" and "multiple sites" rows count patients with X alone, or with two or
    more, of those sites, among the patients with at least one of them (other sites are unknown there).
    """
    df = load_reference("metastatic_sites")
    rows = df[df["primary"] == cancer].reset_index(drop=True)
    rows["recorded_sites"] = rows["recorded_sites"].fillna("").astype(str)
    return rows


def reference_site(name: str) -> tuple[str, bool]:
    """A reference row's site name as (model site, counted alone).

    "bone only" -> ("bone", True); "lung (contralateral)" -> ("lung", False); a name with no model site
    (e.g. "multiple sites") comes back as it is.
    """
    base = name.removesuffix(" only")
    return REFERENCE_SITE_MAP.get(base, base), name.endswith(" only")


def recorded_sites(row_value: str) -> tuple[str, ...]:
    """The model sites of a ``recorded_sites`` cell ("bone;brain" -> ("bone", "brain"); empty -> ())."""
    return tuple(s for s in str(row_value).split(";") if s)


@dataclass(frozen=True)
class MostCommonSite:
    """The site a reference names most often for a primary, and how its figure counts patients."""

    site: str  #: a model site
    alone: bool  #: the figure counts patients with this site alone ("X only"), not with it involved
    recorded_sites: tuple[str, ...]  #: the sites the source recorded; () for every site


def most_common_reference_site(cancer: str) -> MostCommonSite | None:
    """The model site that the reference names most often for `cancer`, by its largest single-site row."""
    rows = metastatic_site_rows(cancer)
    rows = rows[rows["site"].isin(REFERENCE_SITE_MAP.keys()) | rows["site"].str.endswith(" only")]
    if rows.empty:
        return None
    best = rows.loc[rows["percent"].astype(float).idxmax()]
    site, alone = reference_site(str(best["site"]))
    return MostCommonSite(site=site, alone=alone, recorded_sites=recorded_sites(best["recorded_sites"]))
