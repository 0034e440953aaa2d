"""Sphinx extension: a paper claim's headline status, read from the claims page of the same build.

The role

    {claim-status}`table2`

(the key of a claim of the paper, as in `ntkbook.paper.STATEMENTS`) becomes the status badge that the page "Claims at
a glance" shows for that claim, linked to its row there. The status is not typed in the page that uses the role:
it is read from the verdict record that `ntkbook.report.claims.glue_verdicts` leaves in the executed claims page
(``<build>/jupyter_execute/claims.ipynb``, written while the notebooks are read), when the page that uses the role
is written, after every notebook has run. Pages that use the role are re-read on every build, so they never show an
older build's statuses. A claim of the paper the record does not hold (no chapter decided it at this profile) shows
"not run"; a key that is no claim of the paper, or a missing record, also gives a warning ("claim status not found").
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxRole

logger = logging.getLogger(__name__)

#: the claims page's document name and the MIME type of its verdict record (`ntkbook.report.claims.VERDICTS_MIME`)
CLAIMS_DOC = "claims"
VERDICTS_MIME = "application/vnd.ntkbook.verdicts+json"


class claim_status(nodes.inline):
    """Placeholder for a claim's status, resolved when the page is written."""


def read_statuses(executed: Path) -> dict[str, str]:
    """{paper claim key: headline status} from the verdict record (``headline.<key>.status`` names) of an executed
    claims page; {} when the file does not exist."""
    if not executed.is_file():
        return {}
    nb = json.loads(executed.read_text(encoding="utf-8"))
    out = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            for name, text in output.get("data", {}).get(VERDICTS_MIME, {}).items():
                if name.startswith("headline.") and name.endswith(".status"):
                    out[name[len("headline."):-len(".status")]] = ast.literal_eval(text)
    return out


def badge_html(key: str, status: str, href: str, *, row: bool = True) -> str:
    """The badge of `status` (the book's one formatter, `ntkbook.notebook.badge`) as a link to the claim's row on
    the claims page, or to the page itself when the claim has no row there (`row=False`: not run at this profile)."""
    from ntkbook.notebook import badge

    target = f"{href}#paper-claim-{key}" if row else href
    return f'<a class="ntk-claim-status" href="{target}" style="text-decoration: none;">{badge(status)}</a>'


class ClaimStatusRole(SphinxRole):
    def run(self):
        node = claim_status(self.rawtext, key=self.text.strip())
        self.env.metadata.setdefault(self.env.docname, {})["ntkbook_claim_status"] = True
        return [node], []


def _resolve(app: Sphinx, doctree, docname: str) -> None:
    placeholders = list(doctree.findall(claim_status))
    if not placeholders:
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{CLAIMS_DOC}.ipynb"
    statuses = read_statuses(executed)
    href = app.builder.get_relative_uri(docname, CLAIMS_DOC)
    from ntkbook.paper import STATEMENTS

    for node in placeholders:
        key = node["key"]
        status = statuses.get(key)
        row = status is not None  # the claims page has a row (and its anchor) only for a claim it decided
        if status is None:
            # a claim of the paper that no chapter decided at this build's profile is "not run"; a key that names
            # no claim, or a build without the claims page's record, is an error in the page
            if key not in STATEMENTS or not statuses:
                logger.warning(f"claim status not found: {key!r} is not in the verdict record of {executed}"
                               + ("" if key in STATEMENTS else " (nor a claim of ntkbook.paper.STATEMENTS)"),
                               location=node)
            status = "not run"
        if app.builder.format == "html":
            node.replace_self(nodes.raw("", badge_html(key, status, href, row=row), format="html"))
        else:
            node.replace_self(nodes.Text(status))


def _always_reread(app, env, added, changed, removed):
    return [doc for doc, meta in env.metadata.items() if meta.get("ntkbook_claim_status") and doc not in removed]


def setup(app: Sphinx):
    app.add_role("claim-status", ClaimStatusRole())
    app.add_node(claim_status)
    app.connect("doctree-resolved", _resolve)
    app.connect("env-get-outdated", _always_reread)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
