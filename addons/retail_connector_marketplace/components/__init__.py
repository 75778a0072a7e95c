from . import webhook_authenticator
from . import shopify
