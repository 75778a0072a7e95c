from . import retail_backend
from . import retail_backend_amazon
