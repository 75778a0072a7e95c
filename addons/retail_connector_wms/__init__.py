from odoo.addons.retail_connector_base.lib.intelligence.classify import register_exception_type

from . import models
from . import components
from .lib.x12 import X12Error

# a broken interchange is bad data from the warehouse, whatever its message says
register_exception_type(X12Error.__name__, "invalid_payload")
