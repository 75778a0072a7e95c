from . import retail_legacy_id_import
