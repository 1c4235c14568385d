"""The architecture's rules that a reader cannot check by eye (docs/decisions/layers.md).

- The layer contracts (pyproject `[tool.importlinter]`, run by `make check`) fail on an upward import,
  including one written inside a function: proved here on a copy of the tree with one injected.
- No import of `pagedesk.*` inside a function except those listed in LAZY, each with its reason
  written beside it (`# lazy (task): …` or `# lazy (app loading): …`).
- Every domain event has a receiver once Django is set up.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pagedesk"
REASON = re.compile(r"#\s*lazy \((task|app loading)\):\s*\S")

# (file, imported module): each import of pagedesk inside a function. A tasks module imports the
# services that enqueue its tasks, so the enqueuing side imports the task lazily; AppConfig.ready runs
# when models are ready but the module is imported before.
LAZY = {
    ("pagedesk/accounts/apps.py", "pagedesk.accounts.services"),
    ("pagedesk/api/apps.py", "pagedesk.api.tasks"),
    ("pagedesk/core/apps.py", "pagedesk.core"),
    ("pagedesk/core/apps.py", "pagedesk.core.tasks"),
    ("pagedesk/core/leases.py", "pagedesk.core.worker"),
    ("pagedesk/messenger/apps.py", "pagedesk.messenger"),
    ("pagedesk/messenger/attachments.py", "pagedesk.messenger.tasks"),
    ("pagedesk/messenger/ingest.py", "pagedesk.messenger.tasks"),
    ("pagedesk/messenger/profiles.py", "pagedesk.messenger.tasks"),
    ("pagedesk/messenger/send.py", "pagedesk.messenger.tasks_outbound"),
    ("pagedesk/monitoring/apps.py", "pagedesk.monitoring.metrics"),
    ("pagedesk/platform/apps.py", "pagedesk.platform"),
    ("pagedesk/recordings/apps.py", "pagedesk.recordings.fts"),
    ("pagedesk/routing/apps.py", "pagedesk.routing"),
    ("pagedesk/routing/apps.py", "pagedesk.routing.tasks"),
    ("pagedesk/routing/services/closing.py", "pagedesk.routing.tasks"),
    ("pagedesk/routing/services/dropouts.py", "pagedesk.routing.tasks"),
    ("pagedesk/routing/services/handoff.py", "pagedesk.routing.tasks"),
    ("pagedesk/routing/services/presence.py", "pagedesk.routing.tasks"),
    ("pagedesk/routing/services/transfers.py", "pagedesk.routing.tasks"),
}


def _module_of(node: ast.Import | ast.ImportFrom, path: Path) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        base = parts[: len(parts) - node.level]
        return [".".join([*base, node.module] if node.module else base)]
    return [node.module or ""]


def lazy_imports() -> list[tuple[str, str, int, bool]]:
    """(file, module, line, has a reason) for each pagedesk import inside a function."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                for module in _module_of(node, path):
                    if module.startswith("pagedesk"):
                        here = lines[node.lineno - 1 : node.end_lineno]
                        above = lines[node.lineno - 2 : node.lineno - 1]
                        reasoned = any(REASON.search(line) for line in [*here, *above])
                        found.append((str(path.relative_to(ROOT)), module, node.lineno, reasoned))
    return found


def test_every_import_inside_a_function_is_listed_and_says_why():
    found = lazy_imports()
    unreasoned = [f"{file}:{line} {module}" for file, module, line, reasoned in found if not reasoned]
    assert not unreasoned, "an import inside a function needs `# lazy (task|app loading): why`"
    assert {(file, module) for file, module, _line, _r in found} == LAZY


def test_the_count_cannot_pass_on_an_empty_scan():
    assert len(lazy_imports()) >= len(LAZY) > 0


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    shutil.copytree(
        PACKAGE, tree / "pagedesk", ignore=shutil.ignore_patterns("static", "templates", "locale")
    )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_contracts_hold_on_the_tree(tree_copy):
    result = _lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("file", "injected", "broken"),
    [
        # Upward inside a function: accounts (domain bottom) calling routing.
        (
            "pagedesk/accounts/services.py",
            "\n\ndef _sneaky():\n    from pagedesk.routing.services import agent_connected\n\n    return agent_connected\n",
            "pagedesk.accounts is not allowed to import pagedesk.routing",
        ),
        # A cycle between pages and the integration: messenger importing the inbox.
        (
            "pagedesk/messenger/send.py",
            "\nfrom pagedesk.inbox import selectors as _inbox_selectors  # noqa: E402\n",
            "pagedesk.messenger is not allowed to import pagedesk.inbox",
        ),
        # The simulator stands apart.
        (
            "pagedesk/core/clock.py",
            "\n\ndef _sim():\n    import pagedesk.simulator.app\n\n    return pagedesk.simulator.app\n",
            "pagedesk.core is not allowed to import pagedesk.simulator",
        ),
    ],
)
def test_an_upward_or_circular_import_fails_the_contracts(tree_copy, tmp_path, file, injected, broken):
    tree = tmp_path / "tree"
    shutil.copytree(tree_copy, tree)
    with (tree / file).open("a") as handle:
        handle.write(injected)
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert broken in " ".join((result.stdout + result.stderr).split())


@pytest.mark.django_db
def test_every_domain_event_has_a_receiver():
    from pagedesk.accounts import signals as accounts_signals
    from pagedesk.campaigns import signals as campaigns_signals
    from pagedesk.conversations import signals as conversations_signals
    from pagedesk.realtime import signals as realtime_signals

    events = {
        f"{module.__name__}.{name}": value
        for module in (accounts_signals, campaigns_signals, conversations_signals, realtime_signals)
        for name, value in vars(module).items()
        if type(value).__name__ == "Signal"
    }
    assert len(events) == 6
    assert not [name for name, signal in events.items() if not signal.has_listeners()]
