"""The inbox's ES modules link however pagedesk's static files are served.

The inbox script is ES modules importing each other by relative path, with no build step. A browser
loads the entry from the page's `<script type="module" src="{% static 'inbox/inbox.js' %}">` and each
import relative to the URL of the module it is in; one that names no file, or a name a module does not
export, leaves the inbox without a script. So the graph is checked where the files are served from: the
apps' folders (ServeStatic's finders, as settings serve them), a collectstatic with the project's
storage, and one with hashed names — pagedesk.core.staticfiles, and the manifest storages it is used
instead of. tests/e2e/test_inbox_hashed_static.py loads the hashed inbox in a browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from pagedesk.core.staticfiles import HashedStaticFilesStorage
from tests.es_modules import (
    INBOX_MODULES,
    INBOX_SOURCE,
    Module,
    collect_static,
    longest_chain,
    missing_exports,
    module_graph,
)

pytestmark = pytest.mark.django_db

HASHED = re.compile(r"^(?P<name>\w+)\.[0-9a-f]{12}\.js$")
SCRIPT = re.compile(r'<script type="module" src="(?P<src>[^"]+)"></script>')
PRELOAD = re.compile(r'<link rel="modulepreload" href="(?P<href>[^"]+)">')


def linked(entry: Path) -> dict[Path, Module]:
    graph = module_graph(entry)
    assert missing_exports(graph) == []
    longest_chain(graph, entry)  # no cycle
    return graph


def entry_in_page(client_for, alice, static_root: Path) -> Path:
    """The file the inbox page's module script names, in the collected static root."""
    page = client_for(alice).get("/inbox/").content.decode()
    scripts = SCRIPT.findall(page)
    assert len(scripts) == 1, scripts
    assert scripts[0].startswith(django_settings.STATIC_URL)
    return static_root / scripts[0].removeprefix(django_settings.STATIC_URL)


def test_every_inbox_module_is_loaded_and_links_in_the_source_folder():
    graph = linked(INBOX_SOURCE / "inbox.js")
    assert sorted(path.name for path in graph) == INBOX_MODULES  # none left that nothing imports


def test_the_page_preloads_exactly_the_modules_the_entry_imports(client_for, alice):
    """Without these a browser fetches the modules level by level; a stale list would preload a file
    that is gone or leave a new module to the waterfall."""
    page = client_for(alice).get("/inbox/").content.decode()
    preloaded = sorted(href.rsplit("/", 1)[-1] for href in PRELOAD.findall(page))
    assert preloaded == [name for name in INBOX_MODULES if name != "inbox.js"]


def test_collected_with_the_projects_storage_the_page_loads_every_module(
    client_for, alice, settings, tmp_path
):
    collect_static(tmp_path, settings)
    entry = entry_in_page(client_for, alice, tmp_path)
    assert entry == tmp_path / "inbox" / "inbox.js"
    assert sorted(path.name for path in linked(entry)) == INBOX_MODULES


def test_collected_with_hashed_names_every_import_names_a_hashed_module(
    client_for, alice, settings, tmp_path
):
    collect_static(tmp_path, settings, "pagedesk.core.staticfiles.HashedStaticFilesStorage")
    entry = entry_in_page(client_for, alice, tmp_path)
    graph = linked(entry)
    assert [path.name for path in graph if not HASHED.match(path.name)] == []
    names = sorted(HASHED.sub(r"\g<name>.js", path.name) for path in graph)
    assert names == INBOX_MODULES
    assert all(path.parent == tmp_path / "inbox" for path in graph)  # all from the collected root


@pytest.mark.parametrize(
    "backend",
    [
        "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
        "servestatic.storage.CompressedManifestStaticFilesStorage",
    ],
)
def test_a_plain_manifest_storage_links_the_hashed_entry_to_unhashed_modules(
    backend, client_for, alice, settings, tmp_path
):
    """Why pagedesk.core.staticfiles exists: these storages hash the entry's name but not the names it
    imports. The graph resolves (they keep the unhashed copies), but a browser may pair the new entry
    with a module cached from before a deploy."""
    collect_static(tmp_path, settings, backend)
    entry = entry_in_page(client_for, alice, tmp_path)
    assert HASHED.match(entry.name)
    imported = sorted(path.name for path in linked(entry) if path != entry.resolve())
    assert imported == [name for name in INBOX_MODULES if name != "inbox.js"]


def test_the_hashing_storage_settles_the_longest_import_chain():
    """Each post-processing pass fixes the hashed names of at least one more level of imports (in the
    worst file order, exactly one), and a last pass must change nothing; Django runs one pass plus
    max_post_process_passes, and stops collectstatic with "Max post-process passes exceeded" if the
    names have not settled by then."""
    chain = longest_chain(module_graph(INBOX_SOURCE / "inbox.js"), INBOX_SOURCE / "inbox.js")
    assert len(chain) <= HashedStaticFilesStorage.max_post_process_passes, [path.name for path in chain]
