from . import gateway
from . import operations
