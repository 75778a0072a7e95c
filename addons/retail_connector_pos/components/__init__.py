from . import webhook_authenticator
from . import store_sales
from . import square
from . import day_payouts
