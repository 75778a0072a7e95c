# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
from decimal import Decimal, InvalidOperation

from odoo.exceptions import UserError, ValidationError

from odoo.addons.component.core import AbstractComponent, Component

from ..lib.http import ChannelRateLimited

CHUNK = 500  # products compared at a time: memory stays bounded whatever the catalogue size


class RetailReconciler(AbstractComponent):
    """Compares a channel's view of one domain with Odoo's and repairs within the policy.

    Repairs go through the normal paths (the inbox for imports, export requests for exports),
    so a repair is rate limited, coalesced and retried like any other change.
    """

    _name = "retail.reconciler"
    _inherit = "retail.resumable.read"
    _apply_on = "retail.reconciliation.run"
    _domain = None

    def reconcile(self, run):
        """Record the differences on ``run``, repair them; return how many objects were compared."""
        raise NotImplementedError

    def _products_by_sku(self, skus, with_bound=True):
        """Yield {sku: product} chunks for the SKUs the channel holds, plus (``with_bound``) the backend's bound
        products."""
        backend = self.backend_record
        Product = self.env["product.product"]
        skus = set(skus) | (self._bound_skus() if with_bound else set())
        ordered = sorted(skus)
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            products = Product.search(
                [("default_code", "in", chunk), ("company_id", "in", [False, backend.company_id.id])]
            )
            yield {p.default_code: p for p in products}, chunk
            # what the chunk loaded (products, levels, prices, lines) is written: memory stays that of one chunk
            self.env.invalidate_all()

    def _bound_skus(self):
        """Return the SKUs of the products bound to the backend (the channel should have them all)."""
        bound = self.env["retail.product.binding"].search([("backend_id", "=", self.backend_record.id)]).odoo_id
        return set(bound.filtered("default_code").mapped("default_code"))

    def _compare_pages(self, run, pages, compare, per_sku=1):
        """Compare the channel's pages, then the bound SKUs no page named; return how many comparisons were made.

        ``pages`` yields (channel, skus): a page's values by key and the SKUs it names (a SKU
        named again on a later page is compared once). ``compare(run, channel, skus)`` settles
        the differences and returns how many it checked; ``per_sku`` is how many comparisons one
        SKU makes (one per location for stock), for the progress shown.

        A read that can continue from its page cursor (``_resume``), run by a job, stops at the page the
        rate limit holds back, keeps the SKUs compared so far on the run, and continues in a later job;
        the bound SKUs no page named are compared once every page is read.
        """
        bound = self._bound_skus()
        state = run._take_paused_read(self._name) if self._resume else None
        seen = set(state["seen"]) if state else set()
        checked, total = (state["checked"], state["total"]) if state else (0, 0)
        self._page_cursor = state.get("cursor") if state else None
        with self._reading(run) as pausable:
            try:
                for channel, skus in pages:
                    skus = skus - seen
                    seen |= skus
                    # what is known to compare so far: the SKUs read and those bound (pages come one by one)
                    total = max(total, len(seen | bound) * per_sku)
                    run._progress(checked, total)
                    checked += compare(run, channel, skus)
            except ChannelRateLimited as exc:
                if not pausable:
                    raise
                self._pause(run, exc, {"seen": sorted(seen), "checked": checked, "total": total})
                return checked
        run._progress(checked, max(total, checked))
        checked += compare(run, {}, bound - seen)
        run._progress(checked, checked)
        return checked

    def _repair_export(self, run, kind, key, odoo_value, channel_value, product, field_name=None, field_label=None,
                       channel_raw=None):
        """Settle one difference by its owner, record it on ``run`` and, for a value both sides hold, as a conflict.

        Odoo's value: the product is exported again (the channel put back). The channel's: it is
        written into Odoo when ``channel_raw`` says how (``_apply_channel_value``), else it waits
        for a person. A conflict is one insert; nothing else is read per difference.
        """
        backend = self.backend_record
        owner = backend._owner_of(self._domain, "product", field_name)
        conflict = dict(field_label=field_label, key=key, run=run, channel_raw=channel_raw)
        if owner == "odoo":
            if self._sends_domain():
                self.env["retail.export.request"]._request(backend, self._domain, product)
                run._add(kind, key, odoo_value, channel_value, action="repaired",
                         message=self.env._("sent again"), res_model=product._name, res_id=product.id)
                action, message = "reverted_channel", None
            else:
                action, message = "waiting", self.env._(
                    "Odoo is the system of record but sends nothing of this domain to the channel")
                run._add(kind, key, odoo_value, channel_value, action="reported", message=message,
                         res_model=product._name, res_id=product.id)
        else:
            failure = self._apply_channel_value(product, field_name, channel_raw) if channel_raw is not None else False
            if failure is None:
                run._add(kind, key, odoo_value, channel_value, action="repaired",
                         message=self.env._("Odoo set to the channel's value"), res_model=product._name,
                         res_id=product.id)
                action, message = "applied_odoo", None
            else:
                message = failure or self.env._("the channel is the system of record")
                run._add(kind, key, odoo_value, channel_value, action="reported", message=message,
                         res_model=product._name, res_id=product.id)
                action = "waiting"
        if field_name and odoo_value is not None and channel_value is not None:
            self.env["retail.conflict"]._record(backend, self._domain, product, field_name, odoo_value, channel_value,
                                                owner, action, message=message, **conflict)

    def _sends_domain(self):
        """Return whether Odoo sends this domain to the channel (asked once per reconciliation: a
        reconciler is made for each run)."""
        if getattr(self, "_sends", None) is None:
            self._sends = self.backend_record._can_export(self._domain)
        return self._sends

    def _apply_channel_value(self, product, field_name, channel_raw):
        """Write the channel's value of ``field_name`` into Odoo; return None when done, else why not.

        Written as the connector's own change of the backend (never refused, not echoed to that
        channel, sent to the others), with the rights the owner rule gives the connector.
        """
        return self.env._("Odoo does not take %(field)s from the channel: a person decides", field=field_name)


class InventoryReconciler(AbstractComponent):
    """A channel's stock levels, read page after page, against Odoo's available to sell.

    Channels implement ``_channel_stock_pages`` (and ``_locations`` when their locations are not
    the backend's map); comparing and repairing (per the system of record) is shared. A product
    bound to the backend that no page named is missing on the channel.
    """

    _name = "retail.inventory.reconciler.base"
    _inherit = "retail.reconciler"
    _domain = "inventory"

    def _channel_stock_pages(self):
        """Yield pages of the channel's levels: lists of {sku, location_id, quantity}."""
        raise NotImplementedError

    def _locations(self):
        """Return [(channel location id, Odoo locations)] the levels are compared for."""
        return self.component(usage="availability").channel_locations()

    def reconcile(self, run):
        locations = self._locations()

        def pages():
            for page in self._channel_stock_pages():
                channel = {(i["sku"], str(i["location_id"])): i["quantity"] for i in page if i.get("sku")}
                yield channel, {sku for sku, _loc in channel}

        return self._compare_pages(run, pages(), lambda run, channel, skus: self._compare_stock(
            run, channel, skus, locations), per_sku=len(locations))

    def _compare_stock(self, run, channel, skus, locations):
        availability = self.component(usage="availability")
        checked = 0
        for products, chunk in self._products_by_sku(skus, with_bound=False):
            for location_id, odoo_locations in locations:
                levels = availability.available_to_sell(
                    self.env["product.product"].browse([p.id for p in products.values()]), odoo_locations)
                for sku in chunk:
                    product = products.get(sku)
                    theirs = channel.get((sku, str(location_id)))
                    checked += 1
                    if not product:
                        run._add("missing_in_odoo", sku, None, theirs, message=self.env._("no Odoo product has this SKU"))
                        continue
                    ours = levels[product.id]
                    if theirs is None:
                        self._repair_export(run, "missing_on_channel", "%s @ %s" % (sku, location_id), ours, None, product)
                    elif int(theirs) != int(ours):
                        self._repair_export(run, "quantity_drift", "%s @ %s" % (sku, location_id), ours, theirs, product,
                                            field_name="free_qty", field_label=self.env._("Available to sell"))
        return checked


class PricingReconciler(AbstractComponent):
    """A channel's prices, read page after page, against the backend's pricelist.

    Channels implement ``_channel_price_pages``; comparing and repairing is shared: Odoo's price
    is sent again, or the channel's is written into Odoo, per the system of record.
    """

    _name = "retail.pricing.reconciler.base"
    _inherit = "retail.reconciler"
    _domain = "pricing"

    def _channel_price_pages(self):
        """Yield pages of the channel's prices: lists of {sku, price, currency}."""
        raise NotImplementedError

    def reconcile(self, run):
        pages = ({i["sku"]: i for i in page if i.get("sku")} for page in self._channel_price_pages())
        return self._compare_pages(run, ((channel, set(channel)) for channel in pages), self._compare_prices)

    def _compare_prices(self, run, channel, skus):
        pricing = self.component(usage="pricing")
        checked = 0
        for products, chunk in self._products_by_sku(skus, with_bound=False):
            for sku in chunk:
                product = products.get(sku)
                if not product:
                    continue
                checked += 1
                ours = pricing.channel_price(product)
                theirs = channel.get(sku)
                if not theirs:
                    self._repair_export(run, "missing_on_channel", sku, ours["price"], None, product)
                elif not _same_price(theirs, ours):
                    self._repair_export(run, "price_drift", sku, "%s %s" % (ours["price"], ours["currency"]),
                                        "%s %s" % (theirs["price"], theirs["currency"]), product,
                                        field_name="list_price",
                                        channel_raw={"price": theirs["price"], "currency": theirs["currency"]})
        return checked

    def _apply_channel_value(self, product, field_name, channel_raw):
        backend = self.backend_record
        try:
            with self.env.cr.savepoint():
                applied = backend.sudo()._apply_channel_price(
                    product.sudo().with_context(retail_origin_backend=backend.id),
                    channel_raw["price"], channel_raw["currency"])
        except (UserError, ValidationError) as exc:
            return self.env._("Odoo could not take the channel's price: %(error)s", error=exc.args[0])
        if not applied:
            return self.env._("the channel's price is in %(currency)s, not in the currency of Odoo's prices for it: "
                              "a person decides", currency=channel_raw["currency"])
        return None


def _same_price(theirs, ours):
    """Return whether the channel's price is Odoo's: same currency, same amount (however written)."""
    if theirs.get("currency") != ours["currency"]:
        return False
    try:
        return Decimal(str(theirs["price"])) == Decimal(str(ours["price"]))
    except (InvalidOperation, TypeError):
        return False


class GenericInventoryReconciler(Component):
    """Channel stock levels (``GET /api/v1/stock``) against Odoo's available to sell."""

    _name = "retail.generic.inventory.reconciler"
    _inherit = "retail.inventory.reconciler.base"
    _usage = "inventory.reconciler"
    _backend_type = "generic"

    def _channel_stock_pages(self):
        yield self.component(usage="backend.adapter").request("GET", "/api/v1/stock").data.get("items", [])


class GenericPricingReconciler(Component):
    """Channel prices (``GET /api/v1/prices``) against the backend's pricelist."""

    _name = "retail.generic.pricing.reconciler"
    _inherit = "retail.pricing.reconciler.base"
    _usage = "pricing.reconciler"
    _backend_type = "generic"

    def _channel_price_pages(self):
        yield self.component(usage="backend.adapter").request("GET", "/api/v1/prices").data.get("items", [])
