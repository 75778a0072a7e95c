from . import test_pos_backend
from . import test_webhook_signatures
from . import test_store_sales
from . import test_square_flows
from . import test_day_payouts
