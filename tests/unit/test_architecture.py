"""The layout the addons keep: protocol layers without Odoo, channel knowledge outside the base."""

import ast
import io
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADDONS = ROOT / "addons"
BASE = ADDONS / "retail_connector_base"
CHANNEL_NAMES = re.compile(r"shopify|woocommerce|square|stripe|amazon|x12|threepl", re.IGNORECASE)



def _lib_packages():
    return sorted(path for path in ADDONS.glob("*/lib") if (path / "__init__.py").is_file())


def _python_files(folder):
    return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)


def _imported_modules(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def test_protocol_layers_are_found():
    """The checks below see the base's and the channels' lib/ packages (not an empty list)."""
    names = [path.parent.name for path in _lib_packages()]
    assert "retail_connector_base" in names and len(names) > 1, names


@pytest.mark.parametrize("lib", _lib_packages(), ids=lambda path: path.parent.name)
def test_protocol_layer_imports_no_odoo(lib):
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _python_files(lib)
        for line, module in _imported_modules(path)
        if module == "odoo" or module.startswith("odoo.")
    ]
    assert not found, "a protocol layer (lib/) imports Odoo:\n" + "\n".join(found)


def test_protocol_layers_load_without_odoo():
    """Every module of every lib/ imports in a fresh interpreter that never loads odoo."""
    modules = []
    for lib in _lib_packages():
        package = lib.parent.name + "_lib"
        for path in _python_files(lib):
            parts = path.relative_to(lib).with_suffix("").parts
            modules.append(".".join((package, *parts[:-1])) if parts[-1] == "__init__" else ".".join((package, *parts)))
    script = (
        "import importlib, importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('protocol_libs', {str(BASE / 'protocol_libs.py')!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        f"module.install([{str(ADDONS)!r}])\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "loaded = sorted(name for name in sys.modules if name == 'odoo' or name.startswith('odoo.'))\n"
        "assert not loaded, loaded\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd="/")
    assert result.returncode == 0, result.stderr


def _docstring_lines(tree):
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def _channel_names_in_code(path):
    """(name or string, line) of each channel named in code: comments and docstrings don't count."""
    source = path.read_text()
    docstrings = _docstring_lines(ast.parse(source, str(path)))
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.NAME, tokenize.STRING) and token.start[0] not in docstrings:
            if CHANNEL_NAMES.search(token.string):
                yield token.string, token.start[0]


def test_base_names_no_channel():
    """The base holds the pipeline and the interfaces; a channel's names, headers and error types live in its addon."""
    found = [
        f"{path.relative_to(BASE).as_posix()}:{line} {name}"
        for path in _python_files(BASE)
        if "tests" not in path.relative_to(BASE).parts
        for name, line in _channel_names_in_code(path)
    ]
    assert not found, "the base names a channel (its addon should hold it):\n" + "\n".join(found)
