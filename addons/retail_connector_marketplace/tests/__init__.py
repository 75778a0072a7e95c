from . import test_marketplace_backend
