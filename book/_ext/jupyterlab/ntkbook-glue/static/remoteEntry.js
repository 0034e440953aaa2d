/* ntkbook-glue: myst-nb's glue in JupyterLab, for notebooks rendered by jupyterlab-myst.
 *
 * The book (myst-nb) pastes values a code cell glued (`glue(name, value)`, as ntkbook.notebook.values/show do)
 * into the prose: {glue}`name`, {glue:text}`name:.3g`, and ```{glue:figure} name```. jupyterlab-myst does not
 * know these: it renders a role as its bare content ("name:.3g") and the directive as an "Unknown Directive" box.
 * After each render, this extension reads the glued outputs of the notebook's code cells (outputs whose metadata
 * has `scrapbook.name`) and puts the value, formatted with the Python format spec, in place of the role's text,
 * the image with its caption beside the hidden "Unknown Directive" box of a glue:figure (hiding the figure's copy
 * under the code cell that made it, so it shows once), and the glued HTML of a ```{glue} name``` (the chapter's
 * verdict box). A ```{glue} name``` not glued yet (the cell that glues it has not run) is replaced by a sentence
 * saying so (instead of jupyterlab-myst's "Unknown Directive" box); other names not glued yet are left as they
 * are. The working copy that `make lab` opens (tools/lab.py) moves captions out of the directive, so
 * jupyterlab-myst typesets their math.
 *
 * A prebuilt JupyterLab 4 extension written by hand: JupyterLab loads this file, calls init() and
 * get("./extension"), and activates the plugin; it needs no shared module, so nothing is bundled.
 */
(function () {
  "use strict";

  /** Python's format(x, spec) for the specs the book uses: [,][.N](f|e|g|%|d) or empty. */
  function pyFormat(x, spec) {
    const m = /^(,)?(?:\.(\d+))?([eEfFgGd%])?$/.exec(spec || "");
    if (!m || typeof x !== "number") { return null; }
    const comma = !!m[1], p = m[2] === undefined ? null : parseInt(m[2], 10), type = m[3] || "";
    if (!isFinite(x)) { return isNaN(x) ? "nan" : (x > 0 ? "inf" : "-inf"); }
    const exp2 = (s) => s.replace(/e([+-])(\d)$/, "e$10$2");
    const group = (s) => {
      if (!comma) { return s; }
      const parts = s.split(".");
      parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
      return parts.join(".");
    };
    switch (type) {
      case "f": case "F": return group(x.toFixed(p === null ? 6 : p));
      case "e": case "E": return exp2(x.toExponential(p === null ? 6 : p));
      case "%": return group((x * 100).toFixed(p === null ? 6 : p)) + "%";
      case "d": return group(Math.round(x).toString());
      case "g": case "G": case "": {
        if (type === "" && p === null) { return group(Number.isInteger(x) ? String(x) : String(x)); }
        const q = Math.max(p === null ? 6 : p, 1);
        if (x === 0) { return "0"; }
        const e = parseInt(x.toExponential(q - 1).split("e")[1], 10);
        if (e >= -4 && e < q) {
          let s = x.toFixed(Math.max(q - 1 - e, 0));
          if (s.indexOf(".") >= 0) { s = s.replace(/0+$/, "").replace(/\.$/, ""); }
          return group(s);
        }
        let [mant, ex] = x.toExponential(q - 1).split("e");
        if (mant.indexOf(".") >= 0) { mant = mant.replace(/0+$/, "").replace(/\.$/, ""); }
        return exp2(mant + "e" + ex);
      }
    }
    return null;
  }

  /** The text/plain of a glued value as the reader should see it (quotes of a Python str dropped). */
  function plainText(data) {
    let text = data["text/plain"];
    if (text === undefined) { return null; }
    text = Array.isArray(text) ? text.join("") : String(text);
    const quoted = /^(['"])([\s\S]*)\1$/.exec(text);
    return quoted ? quoted[2] : text;
  }

  /** The text a role shows: {glue}`name` or {glue:text}`name:spec`. */
  function roleText(content, glue) {
    const cut = content.indexOf(":");
    const name = cut < 0 ? content : content.slice(0, cut);
    const data = glue[name];
    if (!data) { return null; }
    const text = plainText(data);
    if (text === null) { return null; }
    if (cut < 0) { return text; }
    const number = Number(text.trim());
    const formatted = isNaN(number) && text.trim() !== "nan" ? null : pyFormat(number, content.slice(cut + 1));
    return formatted === null ? text : formatted;
  }

  /** name -> {mime: data} of every glued output of the notebook's code cells; where each was displayed (its cell
   * and output index) is kept under the name in `glue.__shown`, so that a figure pasted into the prose can hide
   * its copy under the code cell (each figure shows once). Blank stderr outputs (a finished progress bar) are
   * hidden on the way. */
  function gluedOutputs(notebook) {
    const glue = { __shown: {} };
    for (const cell of notebook.widgets) {
      if (cell.model.type !== "code" || !cell.model.outputs) { continue; }
      cell.model.outputs.toJSON().forEach((out, index) => {
        if (out.output_type === "stream" && out.name === "stderr") {
          const text = Array.isArray(out.text) ? out.text.join("") : String(out.text || "");
          if (!text.replace(/\r/g, "").trim()) { hideOutput(cell, index); }
          return;
        }
        const sb = out.metadata && out.metadata.scrapbook;
        if (!sb || !sb.name || !out.data) { return; }
        const prefix = sb.mime_prefix || "";
        const data = {};
        for (const key of Object.keys(out.data)) {
          if (key.startsWith(prefix)) { data[key.slice(prefix.length)] = out.data[key]; }
        }
        glue[sb.name] = data;
        if (!prefix) { glue.__shown[sb.name] = { cell, index }; }
      });
    }
    return glue;
  }

  function hideOutput(cell, index) {
    const area = cell.outputArea;
    const widget = area && area.widgets && area.widgets[index];
    if (widget && widget.node) { widget.node.style.display = "none"; widget.node.setAttribute("data-ntk-pasted", ""); }
  }

  /** ```{glue} name``` (or {glue:any}): the glued HTML (e.g. the chapter's verdict box) in place of the box. */
  function fillAny(root, source, glue) {
    const names = [...source.matchAll(ANY)].map((m) => m[2]);
    const boxes = [...root.querySelectorAll("details")].filter((d) => {
      const code = d.querySelector("summary code");
      return code && (code.textContent === "glue" || code.textContent === "glue:any");
    });
    boxes.forEach((box, i) => {
      const name = names[i];
      const data = name && glue[name];
      let next = box.nextElementSibling;
      if (!data || !data["text/html"]) {  // not run yet: a sentence saying so instead of "Unknown Directive"
        box.style.display = "none";
        if (name && !(next && next.getAttribute("data-ntk-glue-pending") === name)) {
          const note = document.createElement("p");
          note.setAttribute("data-ntk-glue-pending", name);
          note.style.fontStyle = "italic";
          note.textContent = name === "verdict_box"
            ? "The chapter's verdict box appears here once its cells have run (Run > Run All Cells)."
            : "The value \u201c" + name + "\u201d appears here once the cell that makes it has run.";
          box.insertAdjacentElement("afterend", note);
        }
        return;
      }
      if (next && next.getAttribute("data-ntk-glue-pending") === name) { next.remove(); next = box.nextElementSibling; }
      if (next && next.getAttribute("data-ntk-glue-any") === name) { return; }
      const div = document.createElement("div");
      div.setAttribute("data-ntk-glue-any", name);
      div.innerHTML = Array.isArray(data["text/html"]) ? data["text/html"].join("") : data["text/html"];
      box.style.display = "none";
      box.insertAdjacentElement("afterend", div);
    });
  }

  const ROLE = /\{glue(?::text|:any|:)?\}`([^`]+)`/g;
  const FIGURE = /^(`{3,}|:{3,})\{glue:figure\}\s+(\S+)[^\n]*\n([\s\S]*?)^\1\s*$/gm;
  const ANY = /^(`{3,}|:{3,})\{glue(?::any)?\}\s+(\S+)[^\n]*\n([\s\S]*?)^\1\s*$/gm;

  function fillCell(cell, glue) {
    const source = cell.model.sharedModel.getSource();
    if (source.indexOf("{glue") < 0) { return; }
    const root = cell.node.querySelector(".myst");
    if (!root) { return; }
    const roles = new Set([...source.matchAll(ROLE)].map((m) => m[1]));
    for (const span of root.querySelectorAll("span:not([data-ntk-glue])")) {
      if (span.childElementCount || !roles.has(span.textContent)) { continue; }
      const text = roleText(span.textContent, glue);
      if (text === null) { continue; }
      span.setAttribute("data-ntk-glue", span.textContent);
      span.title = "glued value " + span.textContent;
      span.textContent = text;
    }
    fillAny(root, source, glue);
    const figures = [...source.matchAll(FIGURE)].map((m) => ({ name: m[2], body: m[3] }));
    const boxes = [...root.querySelectorAll("details")].filter((d) => {
      const code = d.querySelector("summary code");
      return code && code.textContent === "glue:figure";
    });
    boxes.forEach((box, i) => {
      const fig = figures[i];
      const data = fig && glue[fig.name];
      const next = box.nextElementSibling;
      if (!data || !data["image/png"]) { return; }
      const shown = glue.__shown[fig.name];
      if (shown) { hideOutput(shown.cell, shown.index); }  // the figure shows once: here, where the text is
      if (next && next.getAttribute("data-ntk-glue-figure") === fig.name) { return; }
      const figure = document.createElement("figure");
      figure.setAttribute("data-ntk-glue-figure", fig.name);
      figure.style.margin = "1em 0";
      const img = document.createElement("img");
      const png = Array.isArray(data["image/png"]) ? data["image/png"].join("") : data["image/png"];
      img.src = "data:image/png;base64," + png.replace(/\s/g, "");
      img.alt = fig.name;
      img.style.maxWidth = "100%";
      figure.appendChild(img);
      const caption = fig.body.split("\n").filter((l) => !/^:\w[\w-]*:/.test(l)).join(" ").trim()
        .replace(ROLE, (all, content) => { const t = roleText(content, glue); return t === null ? content : t; })
        .replace(/\{\w+\}`([^`]*)`/g, "$1");
      if (caption) {
        const figcaption = document.createElement("figcaption");
        figcaption.textContent = caption;
        figcaption.style.fontStyle = "italic";
        figure.appendChild(figcaption);
      }
      box.style.display = "none";
      box.insertAdjacentElement("afterend", figure);
    });
  }

  function refresh(app) {
    for (const widget of app.shell.widgets("main")) {
      const notebook = widget.content;
      if (!notebook || !notebook.widgets || !notebook.model) { continue; }
      let glue = null;
      for (const cell of notebook.widgets) {
        if (cell.model.type !== "markdown") { continue; }
        if (glue === null) { glue = gluedOutputs(notebook); }
        try { fillCell(cell, glue); } catch (err) { console.warn("ntkbook-glue:", err); }
      }
    }
  }

  const plugin = {
    id: "ntkbook-glue:plugin",
    description: "Fills myst-nb glue roles and glue:figure directives from the notebook's glued outputs.",
    autoStart: true,
    activate: (app) => {
      let pending = null;
      const schedule = () => {
        if (pending === null) { pending = setTimeout(() => { pending = null; refresh(app); }, 250); }
      };
      new MutationObserver(schedule).observe(document.body, { childList: true, subtree: true });
      schedule();
    },
  };

  const container = {
    init: () => Promise.resolve(),
    get: (module) => Promise.resolve(() => ({ __esModule: true, default: [plugin] })),
  };
  if (typeof window !== "undefined") {
    const registry = (window._JUPYTERLAB = window._JUPYTERLAB || {});
    registry["ntkbook-glue"] = container;
  }
  if (typeof module !== "undefined") { module.exports = { pyFormat, roleText }; }  // for the tests (node)
})();
