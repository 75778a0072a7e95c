from . import test_wms_backend
