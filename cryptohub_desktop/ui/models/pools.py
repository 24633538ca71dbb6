"""Pools: the list of pools, a pool's members in order, its rotation history."""

from __future__ import annotations

from cryptohub_desktop.ui import fmt
from cryptohub_desktop.ui.models.table import Column, RowsModel
from cryptohub_desktop.ui.theme import status_color, status_label

POOLS = [
    Column("name", "Pool", fmt=lambda v: str(v).replace("_", " ")),
    Column("strategy", "Strategy", fmt=lambda v: str(v).replace("_", " ")),
    Column("current_provider", "Current", display=lambda r: r.get("current_provider") or "none"),
    Column("healthy", "Healthy", numeric=True,
           display=lambda r: f"{r['healthy']} of {len(r['members'])}"),
    Column("rotation_count", "Rotations", numeric=True),
]


def pools_model() -> RowsModel:
    return RowsModel(POOLS, key=lambda r: r["name"])


MEMBERS = [
    Column("priority", "#", fmt=lambda v: str(int(v) + 1), numeric=True),
    Column("provider_id", "Provider",
           display=lambda r: r["provider_id"] + ("  ◀ current" if r.get("current") else "")),
    Column("status", "Health", fmt=status_label, color=lambda r: status_color(r["status"])),
    Column("enabled", "Enabled", fmt=lambda v: "yes" if v else "no"),
    Column("use_count", "Used", numeric=True),
    Column("success_count", "Successes", numeric=True),
    Column("failure_count", "Failures", numeric=True),
    Column("last_used", "Last used", fmt=fmt.ago, tooltip=lambda r: fmt.local(r["last_used"])),
]


def members_model() -> RowsModel:
    return RowsModel(MEMBERS, key=lambda r: r["provider_id"])


HISTORY = [
    Column("timestamp", "Time", fmt=fmt.short,
           tooltip=lambda r: fmt.local(r["timestamp"], True)),
    Column("from_provider", "From", display=lambda r: r.get("from_provider") or "—"),
    Column("to_provider", "To", display=lambda r: r.get("to_provider") or "none"),
    Column("reason", "Reason", fmt=lambda v: str(v).replace("_", " ")),
]


def history_model() -> RowsModel:
    return RowsModel(HISTORY, key=lambda r: (r["timestamp"], r.get("from_provider"),
                                             r.get("to_provider")))
