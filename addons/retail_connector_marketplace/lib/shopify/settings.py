"""What a Shopify shop's orders name, read from its recent orders and its carrier services.

Shopify has no list of tax rates or payment gateways an app can read: taxes are computed at
checkout and gateways are apps. What the shop's orders name is therefore read from its recent
orders, under the keys the connector's mappings use for them: a tax line's ``title``, a
payment gateway name (``paymentGatewayNames``), a shipping line's ``code`` (its ``title`` when
it has none). A rate computed by a third-party carrier service (``carrierIdentifier`` set)
names that service in its ``source``, which the order mapping takes as the line's carrier;
the shop's active carrier services are carriers too, before any order used them.
"""

from collections.abc import Iterable, Mapping


def order_settings(orders: Iterable[Mapping], carrier_services: Iterable[Mapping] = ()) -> dict:
    """Return ``{"taxes", "payment_gateways", "shipping_methods", "carriers"}`` named by ``orders``
    (nodes of ``RECENT_ORDER_SETTINGS``, newest first) and the active ``carrier_services``.

    A tax is ``{"name", "rate"}`` (``rate`` a fraction as text); the others ``{"code", "name"}``.
    Each value once, as the newest order names it.
    """
    taxes, gateways, methods, carriers = {}, {}, {}, {}
    for order in orders or ():
        if not isinstance(order, Mapping):
            continue
        for name in order.get("paymentGatewayNames") or ():
            if name:
                gateways.setdefault(str(name), {"code": str(name), "name": str(name)})
        ships = _nodes(order.get("shippingLines"))
        for tax in list(order.get("taxLines") or ()) + [t for s in ships for t in s.get("taxLines") or ()]:
            if isinstance(tax, Mapping) and tax.get("title"):
                rate = tax.get("rate")
                taxes.setdefault(str(tax["title"]), {
                    "name": str(tax["title"]), "rate": repr(rate) if isinstance(rate, float) else rate})
        for ship in ships:
            code = ship.get("code") or ship.get("title")
            if code:
                methods.setdefault(str(code), {"code": str(code), "name": ship.get("title") or None,
                                               "source": ship.get("source") or None})
            if ship.get("carrierIdentifier") and ship.get("source"):
                carriers.setdefault(str(ship["source"]), {"code": str(ship["source"]), "name": str(ship["source"])})
    for service in carrier_services or ():
        if isinstance(service, Mapping) and service.get("name") and service.get("active") is not False:
            carriers.setdefault(str(service["name"]), {"code": str(service["name"]),
                                                       "name": service.get("formattedName") or str(service["name"])})
    return {"taxes": list(taxes.values()), "payment_gateways": list(gateways.values()),
            "shipping_methods": list(methods.values()), "carriers": list(carriers.values())}


def _nodes(connection) -> list:
    if isinstance(connection, list):
        return [n for n in connection if isinstance(n, Mapping)]
    if not isinstance(connection, Mapping):
        return []
    nodes = connection.get("nodes")
    if nodes is None:
        nodes = [edge.get("node") for edge in connection.get("edges") or []]
    return [n for n in nodes if isinstance(n, Mapping)]
