# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from odoo.addons.component.core import AbstractComponent


class RetailComponent(AbstractComponent):
    """Base of every Retail Connector component.

    ``_backend_type`` restricts a component to the backends of one channel type (or a tuple of
    types); None means every channel, which is how the channel-agnostic pipeline is shared.
    """

    _name = "retail.base"
    _inherit = "base.connector"
    _collection = "retail.backend"
    _backend_type = None

    @classmethod
    def _component_match(cls, work, usage=None, model_name=None, **kw):
        if cls._backend_type is None:
            return True
        types = (cls._backend_type,) if isinstance(cls._backend_type, str) else cls._backend_type
        # the gateway gives the type with the work context: reading it from the backend would load the
        # whole record (and decrypt its secrets) on every request
        return (getattr(work, "backend_type", None) or work.collection.backend_type) in types
