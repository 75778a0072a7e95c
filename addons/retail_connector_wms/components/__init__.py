from . import threepl
from . import adapter
from . import x12
