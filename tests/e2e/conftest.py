"""Fixtures the end-to-end modules share."""

import pytest

from simulators.generic import DEFAULT_CATALOGUE


@pytest.fixture(scope="module")
def products(odoo):
    """Make sure every SKU the generic channel's simulator sells exists as a product in Odoo, so that a
    valid order goes as far as a sale order."""
    skus = [item["sku"] for item in DEFAULT_CATALOGUE]
    found = {p["default_code"] for p in odoo.search_read("product.product", [("default_code", "in", skus)], ["default_code"])}
    for item in DEFAULT_CATALOGUE:
        if item["sku"] not in found:
            odoo.call("product.product", "create", {
                "name": item["name"], "default_code": item["sku"], "type": "consu", "list_price": float(item["price"]),
            })
    return skus

