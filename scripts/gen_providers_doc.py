"""Write docs/PROVIDERS.md from the catalogue: ``python scripts/gen_providers_doc.py``.

``--check`` exits 1 when the file is out of date (the test suite runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from cryptohub_desktop.collectors import PROVIDERS
from cryptohub_desktop.core.topics import CATEGORIES

OUT = Path(__file__).resolve().parents[1] / "docs" / "PROVIDERS.md"


def _limits(spec) -> str:
    return ", ".join(f"{r.calls} {r.label.replace('_', ' ')}" for r in spec.rate_limits) or "-"


def _key(spec) -> str:
    a = spec.auth
    if not a.key_names:
        return "no"
    names = " / ".join(f"`{n}`" for n in a.key_names)
    where = f" ([get one]({a.key_url}))" if a.key_url else ""
    return f"{'optional ' if a.optional else ''}{names}{where}"


def render() -> str:
    providers = PROVIDERS
    keyless = sum(1 for p in providers if not p.spec.auth.requires_key)
    out = ["# Providers", "",
           "Generated from the catalogue by `python scripts/gen_providers_doc.py`; do not edit.",
           "", f"{len(providers)} providers, {keyless} of them work without a key. A provider "
           "whose key is missing is shown as *needs key* and is not called. Intervals are the "
           "category defaults of the config unless a provider says otherwise; every provider "
           "honours `[providers.ID] base_url`.", ""]
    for cat in CATEGORIES:
        out += [f"## {cat}", "", "| id | name | gives | key | documented limits | history "
                "| docs |", "|---|---|---|---|---|---|---|"]
        for p in providers:
            s = p.spec
            if s.category != cat:
                continue
            name = s.name + ("" if s.enabled_by_default else " (off by default)")
            hist = ", ".join(p.history_intervals) if p.history else "-"
            out.append(f"| `{s.id}` | {name} | {s.gives} | {_key(s)} | {_limits(s)} | {hist} "
                       f"| [docs]({s.docs_url}) |")
        out.append("")
    return "\n".join(out)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        current = OUT.read_text() if OUT.exists() else ""
        if current != text:
            print("docs/PROVIDERS.md is out of date: run python scripts/gen_providers_doc.py")
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
