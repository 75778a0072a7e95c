from . import webhook_authenticator
from . import store_sales
