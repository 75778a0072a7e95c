from . import partner
from . import product
from . import sale_order
from . import picking
from . import warehouse
