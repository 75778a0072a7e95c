from . import threepl
from . import x12
