"""Protocol layers as plain Python packages.

The ``lib/`` package of each Retail Connector addon (HTTP clients, signature schemes, payload
mappings, canonical objects) imports no Odoo. Each is importable as a top-level package named
after its addon with ``_lib`` appended::

    retail_connector_base_lib         addons/retail_connector_base/lib (shared helpers)
    retail_connector_marketplace_lib  addons/retail_connector_marketplace/lib
    retail_connector_wms_lib          addons/retail_connector_wms/lib
    retail_connector_pos_lib          addons/retail_connector_pos/lib

A channel's ``lib/`` imports the shared helpers by that name, e.g.
``from retail_connector_base_lib.http import ChannelHttpClient``, and its own modules relatively.

Inside Odoo the same modules are also reachable as ``odoo.addons.<addon>.lib...`` (what the
addons' models and components import, relatively as ``..lib``): both names give the same module
object, so an exception class raised by a client is the one the pipeline catches, whichever
name imported it. The base addon installs the finder below before anything else
(``retail_connector_base/__init__.py``); the pytest suite installs it from ``tests/conftest.py``
with the checkout's ``addons/`` directory, so the protocol layers and their unit tests run with
no Odoo at all.

This module imports nothing of Odoo either: ``tests/conftest.py`` loads it by its file path.
"""

import importlib
import importlib.abc
import importlib.util
import os
import sys

PREFIX = "retail_connector"
SUFFIX = "_lib"
ODOO_ADDONS = "odoo.addons."


class ProtocolLibFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Find ``<addon>_lib`` in an addons directory, and make ``odoo.addons.<addon>.lib`` its alias."""

    def __init__(self, addons_paths):
        # a list, or a function returning one (inside Odoo: the live ``odoo.addons.__path__``)
        self._addons_paths = addons_paths

    def _paths(self):
        paths = self._addons_paths
        return list(paths() if callable(paths) else paths)

    def _lib_dir(self, addon):
        for path in self._paths():
            lib = os.path.join(path, addon, "lib")
            if os.path.isfile(os.path.join(lib, "__init__.py")):
                return lib
        return None

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith(PREFIX) and fullname.endswith(SUFFIX) and "." not in fullname:
            lib = self._lib_dir(fullname[: -len(SUFFIX)])
            if lib is None:
                return None
            return importlib.util.spec_from_file_location(
                fullname, os.path.join(lib, "__init__.py"), submodule_search_locations=[lib]
            )
        if fullname.startswith(ODOO_ADDONS + PREFIX):
            parts = fullname[len(ODOO_ADDONS):].split(".")
            if len(parts) >= 2 and parts[1] == "lib" and self._lib_dir(parts[0]):
                return importlib.util.spec_from_loader(fullname, self)
        return None

    # the alias loader: ``odoo.addons.<addon>.lib[.x]`` is the module ``<addon>_lib[.x]``
    def create_module(self, spec):
        addon, _lib, *rest = spec.name[len(ODOO_ADDONS):].split(".")
        return importlib.import_module(".".join([addon + SUFFIX, *rest]))

    def exec_module(self, module):
        pass


def install(addons_paths):
    """Put the finder first on ``sys.meta_path`` (once per process) and return it."""
    for finder in sys.meta_path:
        if getattr(finder, "retail_connector_protocol_libs", False):
            return finder
    finder = ProtocolLibFinder(addons_paths)
    finder.retail_connector_protocol_libs = True
    sys.meta_path.insert(0, finder)
    return finder
