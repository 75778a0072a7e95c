from . import catalog_images
