from . import test_marketplace_backend
from . import test_webhook_signatures
from . import test_storefront_sync
from . import test_shopify_flows
from . import test_woocommerce_flows
from . import test_return_flows
from . import test_stripe_flows
from . import test_shopify_payouts
