"""The inbox's ES-module graph as a browser links it: from an entry file, every `import` followed to the
file it names. Shared by the module-graph tests (tests/integration/inbox/test_inbox_modules.py) and the
browser test of hashed static files (tests/e2e/test_inbox_hashed_static.py).

The modules keep to one import form, `import { a, b } from "./x.js";` at the start of a line; any other
(`import x from`, `import * as`, `import("…")`, `export … from`) is reported, so a graph read here is
the whole graph the browser loads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.management import call_command

import pagedesk.inbox

INBOX_SOURCE = Path(pagedesk.inbox.__file__).parent / "static" / "inbox"
INBOX_MODULES = sorted(path.name for path in INBOX_SOURCE.glob("*.js"))

IMPORT = re.compile(r'^import \{ (?P<names>\w+(?:, \w+)*) \} from "(?P<url>[^"]+)";$', re.MULTILINE)
# Whatever could load a module: a statement starting with `import`, an `export … from "…"`, an import().
ANY_IMPORT = re.compile(r"""^\s*import\b|^\s*export\b[^;]*?\bfrom\s*["']|\bimport\s*\(""", re.MULTILINE)
EXPORT = re.compile(r"^export (?:async )?(?:function|const|let|class) (\w+)", re.MULTILINE)


@dataclass
class Module:
    path: Path
    imports: dict[Path, list[str]]  # the file each import resolves to: the names it takes from it
    exports: set[str]


class GraphError(AssertionError):
    pass


def module_read(path: Path) -> tuple[list[tuple[str, list[str]]], set[str]]:
    """The (specifier, names) of a module's imports and the names it exports."""
    source = path.read_text(encoding="utf-8")
    imports = [(m["url"], m["names"].split(", ")) for m in IMPORT.finditer(source)]
    if len(ANY_IMPORT.findall(source)) != len(imports):
        raise GraphError(f'{path.name}: an import in another form than `import {{ … }} from "./x.js";`')
    return imports, set(EXPORT.findall(source))


def module_graph(entry: Path) -> dict[Path, Module]:
    """Every module the entry loads, keyed by file; raises GraphError for an import that names no file."""
    graph: dict[Path, Module] = {}
    todo = [entry.resolve()]
    while todo:
        path = todo.pop()
        if path in graph:
            continue
        if not path.is_file():
            raise GraphError(f"{path} is imported but does not exist")
        specifiers, exports = module_read(path)
        imports: dict[Path, list[str]] = {}
        for url, names in specifiers:
            if not url.startswith(("./", "../")):
                raise GraphError(
                    f"{path.name} imports {url!r}: only relative paths resolve without a build step"
                )
            target = (path.parent / url).resolve()
            imports[target] = names
            todo.append(target)
        graph[path] = Module(path=path, imports=imports, exports=exports)
    return graph


def missing_exports(graph: dict[Path, Module]) -> list[str]:
    """`a.js imports b from c.js` for every imported name its module does not export."""
    return [
        f"{module.path.name} imports {name} from {target.name}"
        for module in graph.values()
        for target, names in module.imports.items()
        for name in names
        if name not in graph[target].exports
    ]


def longest_chain(graph: dict[Path, Module], entry: Path) -> list[Path]:
    """The longest path of imports from the entry; raises GraphError on a cycle."""
    longest: dict[Path, list[Path]] = {}

    def visit(path: Path, trail: tuple[Path, ...]) -> list[Path]:
        if path in trail:
            names = " → ".join(p.name for p in (*trail[trail.index(path) :], path))
            raise GraphError(f"import cycle: {names}")
        if path not in longest:
            below = [visit(target, (*trail, path)) for target in graph[path].imports]
            longest[path] = [path, *max(below, key=len, default=[])]
        return longest[path]

    return visit(entry.resolve(), ())


def collect_static(root: Path, settings: Any, backend: str | None = None) -> None:
    """collectstatic into `root` with the project's static storage, or with `backend` instead."""
    settings.STATIC_ROOT = root
    if backend:
        settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": backend}}
    call_command("collectstatic", interactive=False, verbosity=0)
