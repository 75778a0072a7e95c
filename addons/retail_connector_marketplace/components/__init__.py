from . import webhook_authenticator
from . import shopify
from . import woocommerce
from . import stripe
from . import stripe_payout_importer
from . import amazon
