"""The PMSI-like tables this module reads (architecture doc, "World folder")."""

from __future__ import annotations

import sqlalchemy as sa

# Column name -> SQLAlchemy type; the order is the documented column order.
TABLES: dict[str, dict[str, sa.types.TypeEngine]] = {
    "stays": {
        "stay_id": sa.String(),
        "patient_id": sa.String(),
        "admission_ts": sa.DateTime(),
        "discharge_date": sa.Date(),
        "principal_dx": sa.String(),
        "age": sa.Integer(),
        "sex": sa.String(),
        "postcode": sa.String(),
        "via_ed": sa.Boolean(),
    },
    "associated_dx": {
        "stay_id": sa.String(),
        "code": sa.String(),
    },
}

# The columns the extraction actually reads; the others may be absent without harm.
REQUIRED: dict[str, tuple[str, ...]] = {
    "stays": ("stay_id", "admission_ts", "principal_dx", "age", "postcode"),
    "associated_dx": ("stay_id", "code"),
}


def sqlalchemy_table(name: str, metadata: sa.MetaData) -> sa.Table:
    """The documented schema of one table, as a SQLAlchemy Table bound to ``metadata``."""
    return sa.Table(name, metadata, *(sa.Column(c, t) for c, t in TABLES[name].items()))
