# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Where a storefront fetches a product's images: Odoo's own URL of each image (see the controller)."""

import hashlib

# what a URL names: (model, image field)
IMAGE_FIELDS = {"template": ("product.template", "image_1920"), "variant": ("product.product", "image_variant_1920")}

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp", "image/svg+xml": "svg"}


def image_url(env, kind, res_id):
    """Return ``{"src", "checksum"}`` of a template's or variant's own image, or None when it has none."""
    model, field_name = IMAGE_FIELDS[kind]
    attachment = env["ir.attachment"].sudo().search([("res_model", "=", model), ("res_field", "=", field_name),
                                                     ("res_id", "=", res_id)], limit=1)
    if not attachment or not attachment.checksum:
        return None
    base = env["ir.config_parameter"].sudo().get_param("web.base.url", "").rstrip("/")
    extension = EXTENSIONS.get(attachment.mimetype, "bin")
    return {"src": "%s/retail/catalog/image/%s/%d/%s.%s" % (base, kind, res_id, attachment.checksum, extension),
            "checksum": attachment.checksum}


def template_images(template):
    """Return the images of a product template as a storefront lists them: its own image first, then the
    distinct images of its variants."""
    images, seen = [], set()
    own = image_url(template.env, "template", template.id)
    if own:
        images.append(own)
        seen.add(own["checksum"])
    for variant in template.with_context(active_test=False).product_variant_ids:
        image = image_url(template.env, "variant", variant.id)
        if image and image["checksum"] not in seen:
            images.append(image)
            seen.add(image["checksum"])
    return images


def images_digest(images):
    """Return what identifies a list of images sent (their checksums in order), kept on the bindings: the
    images go again only when it changes. None for no image (a shop's own images are then left alone)."""
    if not images:
        return None
    return hashlib.sha256(("images:" + ",".join(image["checksum"] for image in images)).encode()).hexdigest()
