"""The addon imports nothing but the standard library, mitmproxy and the stdlib-only engine.

The fresh-venv test proves it at run time but takes a minute; this checks the same rule
statically on every run: load the addon as mitmproxy does, then read the imports of every
project module that came along. (What `cors.report` imports when it runs may need more;
it says so instead of failing.)
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from .harness import ADDON, REPO

LOADED = f"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("__mitmproxy_script__.cors", {str(ADDON)!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(
    m.__file__ for name, m in sys.modules.items()
    if name.split(".")[0] in ("analysis", "addons") and getattr(m, "__file__", None)
)))
"""


def top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_everything_the_addon_loads_is_stdlib_mitmproxy_or_engine(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", LOADED], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    files = [Path(f) for f in json.loads(out.stdout)]
    assert any(f.name == "verdict.py" for f in files)
    allowed = set(sys.stdlib_module_names) | {"mitmproxy", "analysis", "addons"}
    for path in files:
        assert path.is_relative_to(REPO), path
        foreign = top_level_imports(path) - allowed
        assert not foreign, f"{path.relative_to(REPO)} imports {sorted(foreign)}"
