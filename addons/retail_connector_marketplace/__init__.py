from . import components
from . import controllers
from . import models
