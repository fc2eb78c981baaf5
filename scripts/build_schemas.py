"""Write the shipped JSON Schemas (alliance_monitor/schemas/*.json) from alliance_monitor._schemas.

    .venv/bin/python scripts/build_schemas.py          # write them
    .venv/bin/python scripts/build_schemas.py --check  # exit 1 if a shipped file is stale

tests/test_schemas.py runs the check: a change to an event model or to the input contract shows
up as a diff of these files, to be reviewed (and versioned, if it breaks consumers).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alliance_monitor._schemas import SCHEMA_NAMES, build_schema, render, schema_file

OUT = Path(__file__).resolve().parent.parent / "alliance_monitor" / "schemas"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only check the files are current")
    args = p.parse_args()
    stale = []
    for name in SCHEMA_NAMES:
        path = OUT / schema_file(name)
        text = render(build_schema(name))
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.name)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"stale: {', '.join(stale)}; run python scripts/build_schemas.py", file=sys.stderr)
        return 1
    print(("stale: " if args.check else "written: ") + (", ".join(stale) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
