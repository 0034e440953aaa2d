"""A working copy of the chapters for JupyterLab, so that opening and running a chapter never touches book/.

Usage: `python tools/lab.py [--refresh] [--prepare-only] [JUPYTER LAB OPTIONS ...]` (`make lab` runs it).

It copies every notebook of book/ (outputs stripped, as stored) into `book/_lab/` (ignored by git), rewritten for
JupyterLab, and opens JupyterLab there with the project's lab extension (book/_ext/jupyterlab: glued values in the
prose). A copy that is already there is kept (it may hold your edits and outputs) unless its chapter in book/
changed since it was copied, or `--refresh` is given; book/ itself is only read. JupyterLab's autosave writes into
the copies.

The rewriting (`lab_markdown`) turns what only the book's build resolves into plain MyST that jupyterlab-myst
renders: citations become "Author (Year)" / "(Author Year)" from book/references.bib, cross-references to labels
and documents become the section's title (a link to the chapter's copy where it is one), and a `glue:figure`'s
caption moves out of the directive into a paragraph after it, so its math is typeset; the dropdowns that fold the
book's secondary figures are unfolded (the lab extension puts the
figure itself there and hides its copy under the code cell that made it, so each figure shows once).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
LAB_DIR = BOOK / "_lab"
EXTENSIONS = BOOK / "_ext" / "jupyterlab"
#: metadata key of a copy: the sha256 of the book/ notebook it was made from
SOURCE_KEY = "ntkbook_lab_source"

_LABEL = re.compile(r"^\((?P<label>[\w.:-]+)\)=\s*\n#+\s+(?P<title>.+)$", re.MULTILINE)
_PRF_LABEL = re.compile(r"^```\{prf:(?P<kind>\w+)\}\s*(?P<title>[^\n]*)\n:label:\s*(?P<label>\S+)", re.MULTILINE)
_FIG_NAME = re.compile(r"^```\{glue:figure\}[^\n]*\n:name:\s*(?P<label>\S+)", re.MULTILINE)
_TITLE = re.compile(r"^#\s+(.+)$", re.MULTILINE)
_ROLE = re.compile(r"\{(?P<role>cite:p|cite:t|ref|doc|numref|prf:ref)\}`(?P<body>[^`]+)`")
_DROPDOWN = re.compile(r"^(?P<fence>:{3,})\{dropdown\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
_GLUE_FIGURE = re.compile(r"^(?P<fence>`{3,})\{glue:figure\}(?P<arg>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                          re.MULTILINE | re.DOTALL)


def _markdown_sources(book: Path):
    for path in sorted(book.glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        yield path.stem, "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    for path in sorted(book.glob("*.md")):
        yield path.stem, path.read_text(encoding="utf-8")


def targets(book: Path = BOOK) -> dict[str, tuple[str, str]]:
    """{label or document name: (title, document)} of the book's section labels (`(label)=` before a heading),
    prf blocks (`:label:`), glue figures (`:name:`, titled "the figure") and documents (their first heading)."""
    out: dict[str, tuple[str, str]] = {}
    for doc, text in _markdown_sources(book):
        title = _TITLE.search(text)
        out[doc] = (title.group(1).strip() if title else doc, doc)
        for m in _LABEL.finditer(text):
            out[m["label"]] = (m["title"].strip(), doc)
        for m in _PRF_LABEL.finditer(text):
            out[m["label"]] = (m["title"].strip() or m["kind"], doc)
        for m in _FIG_NAME.finditer(text):
            out[m["label"]] = ("the figure", doc)
    return out


def _latex_text(text: str) -> str:
    import latexcodec  # noqa: F401  (registers the "latex" codec; a dependency of pybtex, which the book uses)

    return text.encode("utf-8").decode("latex").replace("{", "").replace("}", "")


def citations(bib: Path = BOOK / "references.bib") -> dict[str, tuple[str, str]]:
    """{key: (authors, year)} of a BibTeX file, authors as the book cites them: "Lee", "Lee and Xiao",
    "Lee et al."."""
    from pybtex.database import parse_file

    out = {}
    for key, entry in parse_file(str(bib)).entries.items():
        people = entry.persons.get("author", []) or entry.persons.get("editor", [])
        last = [_latex_text(" ".join(p.last_names)) for p in people]
        authors = (last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2
                   else f"{last[0]} et al." if last else key)
        out[key] = (authors, entry.fields.get("year", "n.d."))
    return out


def _split_ref(body: str) -> tuple[str | None, str]:
    """`text <label>` -> (text, label); `label` -> (None, label)."""
    m = re.fullmatch(r"(?s)(.*?)\s*<([^<>]+)>", body.strip())
    return (m.group(1), m.group(2)) if m else (None, body.strip())


def lab_markdown(text: str, labels: dict[str, tuple[str, str]], cites: dict[str, tuple[str, str]],
                 doc: str | None = None) -> str:
    """A markdown cell's text with the book-only roles resolved for JupyterLab (see the module docstring).

    {cite:p}`a,b` -> (A 2019; B 2020); {cite:t}`a` -> A (2019); {ref}/{numref}/{prf:ref}/{doc} -> the target's
    title (the given text if any; a link to `<doc>.ipynb` when the target is in another document than `doc`, the
    one being rewritten); a glue:figure
    keeps only its name in the directive and its caption follows as a paragraph; a dropdown (the book's fold for a
    secondary figure) is unfolded. Unknown keys raise ValueError.
    """
    def role(m: re.Match) -> str:
        kind, body = m["role"], m["body"]
        if kind.startswith("cite"):
            keys = [k.strip() for k in body.split(",")]
            missing = [k for k in keys if k not in cites]
            if missing:
                raise ValueError(f"citation keys {missing} are not in references.bib")
            if kind == "cite:t":
                return "; ".join(f"{cites[k][0]} ({cites[k][1]})" for k in keys)
            return "(" + "; ".join(f"{cites[k][0]} {cites[k][1]}" for k in keys) + ")"
        text, label = _split_ref(body)
        if label not in labels:
            raise ValueError(f"cross-reference target {label!r} is not a label or document of the book")
        title, where = labels[label]
        shown = (text or title).replace("%s", "").replace("{number}", "").strip() or title
        if kind == "doc" or where != doc:
            if (BOOK / f"{where}.ipynb").is_file():
                return f"[{shown}]({where}.ipynb)"
            page = labels.get(where, (where, where))[0]
            return f"*{shown}*" if shown == page else f"*{shown}* (in *{page}*)"
        return f"*{shown}*"

    def figure(m: re.Match) -> str:
        body = m["body"]
        options = [line for line in body.splitlines() if re.match(r"^:\w[\w-]*:", line)]
        caption = "\n".join(line for line in body.splitlines() if line not in options).strip()
        head = f"{m['fence']}{{glue:figure}}{m['arg']}\n{m['fence']}"
        return head + (f"\n\n*Figure.* {caption}" if caption else "")

    unfolded = _DROPDOWN.sub(lambda m: m["body"].rstrip("\n"), text)  # the book folds secondary figures; here not
    return _ROLE.sub(role, _GLUE_FIGURE.sub(figure, unfolded))


def lab_notebook(nb: dict, doc: str, labels: dict, cites: dict) -> dict:
    """A copy of notebook `nb` (document `doc`) for JupyterLab: markdown cells through `lab_markdown`, code cells
    and metadata unchanged, outputs cleared."""
    cells = []
    for cell in nb["cells"]:
        cell = dict(cell)
        if cell["cell_type"] == "markdown":
            cell["source"] = lab_markdown("".join(cell["source"]), labels, cites, doc)
        elif cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    return {**nb, "cells": cells}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def working_copy(book: Path = BOOK, dest: Path = LAB_DIR, *, refresh: bool = False) -> dict[str, str]:
    """Write the JupyterLab copies of book/*.ipynb into `dest`; returns {notebook name: "written" | "kept"}.

    A copy is kept when it was made from the chapter as it is now (its metadata records the chapter's sha256) and
    `refresh` is False; otherwise it is (re)written. Nothing under `book` is written (`dest` aside)."""
    dest.mkdir(parents=True, exist_ok=True)
    labels, cites = targets(book), citations(book / "references.bib")
    done = {}
    for source in sorted(book.glob("*.ipynb")):
        target = dest / source.name
        digest = _digest(source)
        if target.is_file() and not refresh:
            try:
                recorded = json.loads(target.read_text(encoding="utf-8"))["metadata"].get(SOURCE_KEY)
            except (ValueError, KeyError):
                recorded = None
            if recorded == digest:
                done[source.name] = "kept"
                continue
        nb = lab_notebook(json.loads(source.read_text(encoding="utf-8")), source.stem, labels, cites)
        nb["metadata"] = {**nb["metadata"], SOURCE_KEY: digest}
        target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        done[source.name] = "written"
    return done


def lab_command(root: Path = LAB_DIR, extra: list[str] = ()) -> list[str]:
    """`jupyter lab` (the venv's, beside this Python) on `root` with the project's lab extension."""
    command = [str(Path(sys.executable).with_name("jupyter")), "lab", f"--ServerApp.root_dir={root}",
               f"--LabApp.extra_labextensions_path={EXTENSIONS}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # JupyterLab refuses to run as root without it
    return command + list(extra)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refresh", action="store_true", help="rewrite every copy from book/ (drops your edits)")
    parser.add_argument("--prepare-only", action="store_true", help="write the copies, do not start JupyterLab")
    args, extra = parser.parse_known_args(argv)
    for name, what in working_copy(refresh=args.refresh).items():
        print(f"{what:>7}  {LAB_DIR.relative_to(ROOT) / name}")
    if args.prepare_only:
        return 0
    print(f"JupyterLab on {LAB_DIR.relative_to(ROOT)}/ (the chapters in book/ stay as they are)")
    os.execv(lab_command(extra=extra)[0], lab_command(extra=extra))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
