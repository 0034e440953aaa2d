"""Fail when a book build's log warns about something missing from the pages; list its other warnings.

Usage: `python tools/check_build_log.py book/_build/build.log` (.ci/run keeps the log of `make book` there).
Exit status 1 when any Sphinx warning says a file, image, include, document or reference target is missing, or
that a glued value could not be inserted (`[mystnb.glue]`: the prose would show a hole or a raw repr such as
`np.float64(0.99)`; glue a Python `float(...)` when the text formats it); 0 otherwise. Other warnings (style,
removed stderr) are printed but do not fail.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SPHINX_WARNING = re.compile(r"\bWARNING: ")   # Sphinx's form; "[IPKernelApp] WARNING | ..." is not one of them
MISSING = re.compile(r"not found|not readable|does not exist|nonexisting|no such file|cannot find|could not find"
                     r"|unknown document|failed to (?:read|open)|missing|\[mystnb\.glue\]", re.IGNORECASE)


def classify(log: str) -> tuple[list[str], list[str]]:
    """Split the log's Sphinx warnings into `(missing-file or glue warnings, other warnings)`, in log order."""
    warnings = [line.strip() for line in log.splitlines() if SPHINX_WARNING.search(line)]
    missing = [w for w in warnings if MISSING.search(w)]
    return missing, [w for w in warnings if w not in missing]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    path = Path(argv[1])
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no build log; build with `make book 2>&1 | tee {path}`")
    missing, other = classify(path.read_text(errors="replace"))
    for line in other:
        print(f"warning: {line}")
    for line in missing:
        print(f"MISSING: {line}")
    print(f"{len(missing)} missing-file or glue warning(s), {len(other)} other warning(s) in {path}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
