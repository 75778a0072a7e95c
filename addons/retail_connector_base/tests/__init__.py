from . import test_backend
from . import test_bindings
from . import test_legacy_import
