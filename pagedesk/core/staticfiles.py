"""A static-files storage with hashed names that keeps the inbox's ES modules linked.

Not the default: settings.STORAGES uses StaticFilesStorage and ServeStatic serves the apps' files by their
own names (SERVESTATIC_USE_FINDERS), so relative `import "./x.js"` needs nothing. A deployment that wants
hashed, forever-cacheable names runs `collectstatic` and points STORAGES["staticfiles"] here instead of at
Django's or ServeStatic's manifest storage, because:

- those leave the imports inside a hashed module unhashed: `inbox.3f2a….js` imports `./pane.js`, which a
  browser may hold from before a deploy, and an old module linked to a new one can miss an export;
- their switch to rewrite imports (`support_js_module_import_aggregation`) reads every *.js, comments
  included, and stops collectstatic at django-htmx's JSDoc `import("../htmx")`, which names no file.

So it rewrites the one import form our modules use, in their folders only
(docs/decisions/inbox-es-modules.md).
"""

from __future__ import annotations

from servestatic.storage import CompressedManifestStaticFilesStorage

# Static folders whose *.js are ES modules importing each other by relative path.
ES_MODULE_FOLDERS = ("inbox",)

# The one import form the modules use, `import { a, b } from "./x.js";` on a line of its own
# (tests/es_modules.py refuses any other): its path becomes the hashed name. Django's own patterns for
# every form (behind support_js_module_import_aggregation) are private, and looser than needed.
IMPORT_PATTERN = (
    r"""(?m)(?P<matched>^import(?P<names> \{ [\w, ]+ \}) from "(?P<url>\.{1,2}/[^"]+)";$)""",
    """import%(names)s from "%(url)s";""",
)


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = (
        *CompressedManifestStaticFilesStorage.patterns,
        *((f"{folder}/*.js", (IMPORT_PATTERN,)) for folder in ES_MODULE_FOLDERS),
    )
    # A module's hashed name depends on those of the modules it imports, so each pass over the files
    # settles at least one more level of the import graph, in the worst file order exactly one. Django's
    # 5 may be fewer than the inbox's longest chain (7 modules; test_inbox_modules.py keeps this above it).
    max_post_process_passes = 12
