from . import retail_backend
from . import retail_edi_document
