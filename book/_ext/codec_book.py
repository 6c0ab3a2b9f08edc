"""Sphinx extension for the codec book: small fixes to Jupyter Book 1's page assembly.

sphinx-thebe 0.3.1 (loaded by Jupyter Book 1) registers its configuration script
(``const THEBE_JS_URL = ...``) on every ``env-before-read-docs`` event, once with the filename
``None`` and once with ``""``, so Sphinx does not see them as equal and pages carry the same
inline script twice; the browser then reports ``Identifier 'THEBE_JS_URL' has already been
declared``. This extension drops repeated scripts from each page's context before it is written.

The site's root ``index.html`` is a redirect to the book's first page. sphinx-external-toc writes
it as one bare ``<meta http-equiv="Refresh">`` line when no ``index.html`` exists: no charset, no
title, no icon, so the browser asks the server for ``/favicon.ico``, which the site does not have
(a 404 in the console, seen by ``scripts/check_site.py`` when the request wins the race against
the redirect). This extension writes the redirect page first, as a small complete HTML document
that names the book's favicon and links to the first page for browsers that do not follow the
refresh.

It also serves the book's small stylesheet (``static/codec.css``: the colours of the scorecard's
verdict marks, :data:`codec.scorecard.VERDICT_MARKS`).
"""
import html
import posixpath
from pathlib import Path


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return None
    seen, kept = set(), []
    for script in scripts:
        filename = getattr(script, "filename", script) or ""
        attributes = getattr(script, "attributes", {}) or {}
        key = (str(filename), tuple(sorted((name, str(value)) for name, value in attributes.items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    # in place: handlers that run later (MathJax's, for one) append to this very list
    scripts[:] = kept
    return None


def _redirect_page(target: str, title: str, favicon: str | None) -> str:
    icon = f'<link rel="icon" href="{html.escape(favicon)}">\n' if favicon else ""
    target = html.escape(target)
    return ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n{icon}"
            f'<meta http-equiv="Refresh" content="0; url={target}">\n</head>\n'
            f'<body><p>This book starts at <a href="{target}">{target}</a>.</p></body>\n</html>\n')


def _write_root_redirect(app, exception):
    if exception is not None or app.builder.format != "html" or app.config.root_doc == "index":
        return
    favicon = app.config.html_favicon
    if favicon and "://" not in favicon:
        favicon = posixpath.join("_static", Path(favicon).name)  # where Sphinx copies it
    page = _redirect_page(app.builder.get_target_uri(app.config.root_doc), app.config.html_title, favicon)
    Path(app.outdir, "index.html").write_text(page, encoding="utf-8")


def _add_static_path(app, config):
    config.html_static_path.append(str(Path(__file__).parent / "static"))


def setup(app):
    app.connect("config-inited", _add_static_path)
    app.add_css_file("codec.css")
    # early: html-page-context stops at the first handler that returns a template name
    app.connect("html-page-context", _drop_repeated_scripts, priority=100)
    # before sphinx-external-toc's handler (priority 500), which then finds index.html written
    app.connect("build-finished", _write_root_redirect, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
