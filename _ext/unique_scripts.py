"""Leave each inline <script> once per page.

sphinx-thebe 0.3.1 registers its inline configuration script (``const
THEBE_JS_URL = ...``) more than once, and a browser rejects the second copy:
"Identifier 'THEBE_JS_URL' has already been declared". Dropping exact
repeats of a script from every page fixes it and changes nothing else.
"""


def _drop_repeated_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # An inline script's filename is None or "" depending on how it was added.
        key = (getattr(script, "filename", script) or "", tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
