# first: the addons' protocol layers (lib/) import as plain packages, see protocol_libs.py
import odoo.addons

from . import protocol_libs

protocol_libs.install(lambda: odoo.addons.__path__)

from . import components  # noqa: E402
from . import controllers  # noqa: E402
from . import models  # noqa: E402
from . import wizards  # noqa: E402
