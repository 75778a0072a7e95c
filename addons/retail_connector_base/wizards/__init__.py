from . import retail_legacy_id_import
from . import retail_event_requeue
from . import retail_trace
from . import retail_mapping_suggest
from . import retail_channel_assistant
