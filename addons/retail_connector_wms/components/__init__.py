from . import threepl
