from . import core
from . import binder
from . import connection_tester
