from . import test_backend
from . import test_bindings
from . import test_legacy_import
from . import test_order_import
from . import test_backend_tour
from . import test_gateway
from . import test_polling
from . import test_outbound
