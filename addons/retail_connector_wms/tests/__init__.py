from . import test_wms_backend
from . import test_threepl_flows
from . import test_x12_flows
from . import test_return_flows
