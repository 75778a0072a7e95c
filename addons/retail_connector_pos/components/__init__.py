from . import webhook_authenticator
from . import adapter
from . import store_sales
from . import square
from . import day_payouts
