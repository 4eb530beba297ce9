"""Print tempoforge's dependencies with every upper bound removed (torch stays pinned), for ``make test-latest``.

``pyproject.toml``'s upper bounds say which releases were tested; this list asks pip for the newest releases
that exist, so a maintainer learns early when an upstream release breaks us. Usage:

    python .ci/latest_requirements.py dev,eval,bench,ray,transnet > latest.txt
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement


def relaxed(req: str) -> str:
    r = Requirement(req)
    if r.name == "torch":
        return str(r)
    lower = ",".join(str(s) for s in r.specifier if s.operator in (">=", ">", "!="))
    extras = f"[{','.join(sorted(r.extras))}]" if r.extras else ""
    return f"{r.name}{extras}{lower}"


def main(argv: list[str]) -> int:
    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]
    extras = [e for e in (argv[1] if len(argv) > 1 else "").split(",") if e]
    reqs = list(project["dependencies"])
    for e in extras:
        reqs += project["optional-dependencies"][e]
    print("\n".join(relaxed(r) for r in reqs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
