from . import webhook_authenticator
from . import shopify
from . import woocommerce
from . import stripe
from . import stripe_payout_importer
from . import shopify_catalog
from . import woocommerce_catalog
from . import amazon
