from . import retail_backend
from . import retail_sync_policy
from . import retail_binding
from . import bindings
from . import res_config_settings
