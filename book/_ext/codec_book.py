"""Sphinx extension for the codec book: small fixes to Jupyter Book 1's page assembly.

sphinx-thebe 0.3.1 (loaded by Jupyter Book 1) registers its configuration script
(``const THEBE_JS_URL = ...``) on every ``env-before-read-docs`` event, once with the filename
``None`` and once with ``""``, so Sphinx does not see them as equal and pages carry the same
inline script twice; the browser then reports ``Identifier 'THEBE_JS_URL' has already been
declared``. This extension drops repeated scripts from each page's context before it is written.
"""


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


def setup(app):
    # early: html-page-context stops at the first handler that returns a template name
    app.connect("html-page-context", _drop_repeated_scripts, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
