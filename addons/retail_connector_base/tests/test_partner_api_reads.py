# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The partner API's live reads over HTTP: available to sell and order state, with their refusals."""

import copy
import json

from odoo.tests import tagged

from .flows import ChannelFlowCase
from .jobs import perform_pending_jobs
from .test_order_import import ORDER

AVAILABILITY = "/retail/api/v1/availability"


@tagged("post_install", "-at_install")
class TestPartnerApiReads(ChannelFlowCase):
    SKUS = {"API-MUG": {"name": "API mug", "list_price": 12.5}, "API-CAP": {"name": "API cap", "list_price": 20}}
    NAMED_PRODUCTS = {"mug": "API-MUG", "cap": "API-CAP"}
    PRODUCT = {"type": "consu", "is_storable": True, "taxes_id": [(5, 0, 0)]}
    PRICELIST = None
    COMPANY_CURRENCY = "base.USD"
    STOCK = 0
    ALLOW_ALL_REQUESTS = False  # the partner calls Odoo through url_open

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backroom = cls.env["stock.location"].create(
            {"name": "Backroom", "usage": "internal", "location_id": cls.warehouse.view_location_id.id})
        cls.supplier = cls.env.ref("stock.stock_location_suppliers")
        cls.customers = cls.env.ref("stock.stock_location_customers")

    def setUp(self):
        super().setUp()
        from simulators.generic import GenericChannel  # noqa: PLC0415

        from ..controllers import gateway  # noqa: PLC0415

        gateway.REFUSALS._seen.clear()  # refusals of earlier tests from this address
        self.channel = self._start(GenericChannel(token="reads-token", currency="USD", tax_rate="0"))
        self.backend = self._channel_backend(
            name="Partner API reads", backend_type="generic", endpoint_url=self.channel.url,
            api_secret="reads-token", webhook_secret="whsec-reads", rate_limit_rps=1000, rate_limit_burst=1000,
            # what the channel is offered: one unit kept back, at most 8 a product
            stock_buffer=1, stock_max_qty=8,
        )
        self.key_record = self.env["retail.api.key"].create(
            {"name": "Reader", "backend_id": self.backend.id, "scopes": "availability:read orders:read orders:write"})
        self.key = self.key_record._generate_secret()

    # ------------------------------------------------------------------ helpers
    def _get(self, path, key=None, params=None):
        headers = {"Authorization": "Bearer " + key} if key else {}
        return self.url_open(path, headers=headers, params=params)

    def _availability(self, params, key=None):
        return self._get(AVAILABILITY, key or self.key, params)

    def _order(self, external_id, key=None):
        return self._get("/retail/api/v1/orders/%s" % external_id, key or self.key)

    def _move(self, product, qty, source, dest):
        """Move ``qty`` units, done (a receipt or a delivery without order)."""
        move = self.env["stock.move"].create({
            "product_id": product.id, "product_uom_qty": qty, "location_id": source.id, "location_dest_id": dest.id,
            "product_uom": product.uom_id.id,
        })
        move._action_confirm()
        move.quantity = qty
        move.picked = True
        move._action_done()
        return move

    def _exported(self, sku, location):
        """Send the pending exports to the channel; return the level the channel now has."""
        perform_pending_jobs(self.env)
        return self.channel.stock_level(sku, location)

    def _canonical_order(self, external_id, lines=(("API-MUG", "2"), ("API-CAP", "1"))):
        order = copy.deepcopy(ORDER)
        order.update(external_id=external_id, name="#%s" % external_id, shipping_lines=[])
        order["lines"] = [{"external_id": "L%d" % i, "sku": sku, "name": sku, "quantity": qty, "unit_price": "10.00"}
                          for i, (sku, qty) in enumerate(lines)]
        return order

    def _post_order(self, order):
        resp = self.url_open("/retail/api/v1/orders", data=json.dumps(order).encode(),
                             headers={"Authorization": "Bearer " + self.key, "Content-Type": "application/json"})
        self.assertEqual(resp.status_code, 202, resp.text)

    def _sale(self, external_id):
        return self.env["retail.sale.order.binding"].search(
            [("backend_id", "=", self.backend.id), ("external_id", "=", external_id)]).odoo_id

    def _ship(self, picking, quantities, tracking):
        """Validate a delivery with ``quantities`` {product: units}; the rest stays on a backorder."""
        picking.carrier_tracking_ref = tracking
        for move in picking.move_ids:
            move.quantity = quantities.get(move.product_id, 0)
            move.picked = True
        picking._action_done()

    # ------------------------------------------------------------------ available to sell
    def test_availability_is_what_the_inventory_export_sends(self):
        code = self.warehouse.code
        self._move(self.mug, 20, self.supplier, self.stock)
        self._move(self.cap, 3, self.supplier, self.stock)
        resp = self._availability({"sku": ["API-MUG", "API-CAP"]})
        self.assertEqual(resp.status_code, 200, resp.text)
        self.assertEqual(resp.headers["Cache-Control"], "no-store")
        answer = resp.json()
        self.assertTrue(answer["computed_at"].endswith("Z"))
        self.assertEqual(answer["correlation_id"], resp.headers["X-Correlation-Id"])
        # 20 in stock: capped at 8; 3 in stock: one kept back
        self.assertEqual(answer["items"], [{"sku": "API-MUG", "location": code, "available": 8},
                                           {"sku": "API-CAP", "location": code, "available": 2}])
        self.assertEqual(self._exported("API-MUG", code), 8)
        self.assertEqual(self._exported("API-CAP", code), 2)
        # a delivery leaves 5 mugs: 4 to sell, at once in the read, and then in the export
        self._move(self.mug, 15, self.stock, self.customers)
        [item] = self._availability({"sku": "API-MUG"}).json()["items"]
        self.assertEqual(item, {"sku": "API-MUG", "location": code, "available": 4})
        self.assertEqual(self._exported("API-MUG", code), 4)
        self.assertTrue(self.key_record.last_used_at, "the key's last use is recorded")

    def test_availability_per_channel_location_and_what_it_refuses(self):
        self.backend.write({"location_map_ids": [
            (0, 0, {"external_id": "front", "location_ids": [(6, 0, self.stock.ids)]}),
            (0, 0, {"external_id": "back", "location_ids": [(6, 0, self.backroom.ids)]}),
        ]})
        self._move(self.mug, 20, self.supplier, self.stock)
        self._move(self.mug, 6, self.supplier, self.backroom)
        answer = self._availability({"sku": "API-MUG"}).json()
        self.assertEqual([(i["location"], i["available"]) for i in answer["items"]], [("front", 8), ("back", 5)])
        self.assertEqual(self._exported("API-MUG", "back"), 5)
        resp = self._availability({"sku": "API-MUG", "location": "back"})
        self.assertEqual(resp.json()["items"], [{"sku": "API-MUG", "location": "back", "available": 5}])

        resp = self._availability({"sku": "API-MUG", "location": "attic"})
        self.assertEqual((resp.status_code, resp.json()["error"]), (404, "unknown_location"))
        self.assertIn("attic", resp.json()["message"])
        self.assertIn("front, back", resp.json()["message"], "the backend's channel locations are named")
        resp = self._availability({"sku": ["API-MUG", "NO-SUCH-SKU"]})
        self.assertEqual((resp.status_code, resp.json()["error"]), (404, "unknown_sku"))
        self.assertIn("NO-SUCH-SKU", resp.json()["message"])
        self.assertEqual(resp.json()["details"], [{"field": "sku", "message": "unknown SKU NO-SUCH-SKU"}])
        rejected = self.env["retail.rejected.request"].search(
            [("backend_id", "=", self.backend.id), ("code", "=", "unknown_sku")])
        self.assertEqual((rejected.status, rejected.path, rejected.topic), (404, AVAILABILITY, "availability:read"))
        resp = self._availability({})
        self.assertEqual((resp.status_code, resp.json()["error"]), (400, "bad_query"))
        resp = self._availability({"sku": ["SKU-%d" % i for i in range(51)]})
        self.assertEqual((resp.status_code, resp.json()["error"]), (400, "bad_query"))
        self.assertIn("at most 50", resp.json()["message"])
        resp = self._availability({"sku": ["API-MUG", "API-MUG"]})
        self.assertEqual(len(resp.json()["items"]), 2, "a SKU named twice is answered once per location")

    def test_reads_need_a_valid_key_with_their_scope(self):
        resp = self._get(AVAILABILITY, None, {"sku": "API-MUG"})
        self.assertEqual((resp.status_code, resp.json()["error"]), (401, "missing_api_key"))
        resp = self._get(AVAILABILITY, "rck_not-a-key", {"sku": "API-MUG"})
        self.assertEqual((resp.status_code, resp.json()["error"]), (401, "bad_api_key"))
        resp = self._order("G1", "rck_not-a-key")
        self.assertEqual((resp.status_code, resp.json()["error"]), (401, "bad_api_key"))
        writer = self.env["retail.api.key"].create({"name": "Writer", "backend_id": self.backend.id, "scopes": "orders:write"})
        writer_key = writer._generate_secret()
        resp = self._availability({"sku": "API-MUG"}, writer_key)
        self.assertEqual((resp.status_code, resp.json()["error"]), (403, "missing_scope"))
        self.assertIn("availability:read", resp.json()["message"])
        resp = self._order("G1", writer_key)
        self.assertEqual((resp.status_code, resp.json()["error"]), (403, "missing_scope"))
        self.assertIn("orders:read", resp.json()["message"])
        self.assertFalse(writer.last_used_at, "a refused read is no use of the key")
        refused = self.env["retail.rejected.request"].search(
            [("backend_id", "=", self.backend.id), ("code", "=", "missing_scope")])
        self.assertEqual(set(refused.mapped("topic")), {"availability:read", "orders:read"})
        self.key_record.active = False
        resp = self._availability({"sku": "API-MUG"})
        self.assertEqual(resp.status_code, 401, "a revoked key reads nothing")

    # ------------------------------------------------------------------ order state
    def test_order_state_follows_the_order_from_the_inbox_to_its_refund(self):
        self._move(self.mug, 10, self.supplier, self.stock)
        self._move(self.cap, 10, self.supplier, self.stock)
        self._post_order(self._canonical_order("G-READ-1"))
        answer = self._order("G-READ-1").json()
        self.assertEqual((answer["status"], answer["odoo_order"]), ("pending", None), answer)
        self.assertEqual(answer["events"], {"pending": 1, "failed": 0})

        perform_pending_jobs(self.env, method="_dispatch")
        sale = self._sale("G-READ-1")
        resp = self._order("G-READ-1")
        self.assertEqual(resp.status_code, 200, resp.text)
        answer = resp.json()
        self.assertEqual(answer["status"], "confirmed", answer)
        self.assertEqual((answer["odoo_order"], answer["channel_order_name"]), (sale.name, "#G-READ-1"))
        self.assertEqual(answer["amounts"]["total"], "%.2f" % sale.amount_total)
        self.assertEqual(answer["amounts"]["total"], "30.00")
        self.assertEqual((answer["currency"], answer["fulfilment_status"], answer["shipments"]), ("USD", "unshipped", []))
        self.assertEqual(answer["events"], {"pending": 0, "failed": 0})

        self._ship(sale.picking_ids, {self.mug: 1}, "TRK-1; TRK-2")
        answer = self._order("G-READ-1").json()
        self.assertEqual((answer["status"], answer["fulfilment_status"]), ("partially_shipped", "partial"), answer)
        [shipment] = answer["shipments"]
        self.assertEqual(shipment["tracking_numbers"], ["TRK-1", "TRK-2"])
        self.assertEqual(shipment["lines"], [{"sku": "API-MUG", "quantity": 1}])
        backorder = sale.picking_ids.filtered(lambda p: p.state != "done")
        self._ship(backorder, {self.mug: 1, self.cap: 1}, "TRK-3")
        answer = self._order("G-READ-1").json()
        self.assertEqual((answer["status"], answer["fulfilment_status"]), ("shipped", "shipped"), answer)
        self.assertEqual([s["tracking_numbers"] for s in answer["shipments"]], [["TRK-1", "TRK-2"], ["TRK-3"]])
        self.assertEqual(answer["shipments"][1]["lines"], [{"sku": "API-MUG", "quantity": 1}, {"sku": "API-CAP", "quantity": 1}])

        Refund = self.env["retail.refund"]
        refund = {"backend_id": self.backend.id, "sale_order_id": sale.id, "currency_id": sale.currency_id.id,
                  "action": "review"}
        Refund.create(dict(refund, external_id="R-1", amount=10.0))
        answer = self._order("G-READ-1").json()
        self.assertEqual((answer["status"], answer["refund_status"], answer["refunded_amount"]),
                         ("partially_refunded", "partial", "10.00"), answer)
        self.assertEqual(answer["fulfilment_status"], "shipped", "the shipments are still told")
        Refund.create(dict(refund, external_id="R-2", amount=20.0))
        answer = self._order("G-READ-1").json()
        self.assertEqual((answer["status"], answer["refund_status"], answer["refunded_amount"]),
                         ("refunded", "full", "30.00"), answer)
        self.assertEqual([(r["id"], r["amount"]) for r in answer["refunds"]], [("R-1", "10.00"), ("R-2", "20.00")])

    def test_a_cancelled_order_and_a_webhook_not_read_yet(self):
        self._post_order(self._canonical_order("G-READ-2"))
        perform_pending_jobs(self.env, method="_dispatch")
        self._sale("G-READ-2")._action_cancel()
        self.assertEqual(self._order("G-READ-2").json()["status"], "cancelled")
        # a webhook is read by the job that applies it: until then its order is found in its payload
        from ..lib.signatures import sign_retail  # noqa: PLC0415

        body = json.dumps(self._canonical_order("G-READ-3")).encode()
        resp = self.url_open("/retail/webhook/%d" % self.backend.id, data=body, headers={
            "Content-Type": "application/json", "X-Retail-Topic": "orders/create", "X-Retail-Event-Id": "evt-read-3",
            "X-Retail-Signature": sign_retail("whsec-reads", body)})
        self.assertEqual(resp.status_code, 202, resp.text)
        answer = self._order("G-READ-3").json()
        self.assertEqual((answer["status"], answer["events"]["pending"]), ("pending", 1), answer)
        self.assertEqual(self._order("G-READ").status_code, 404, "an id contained in another is not that order")

    def test_unknown_orders_and_other_backends_data_are_404(self):
        resp = self._order("G-NOWHERE")
        self.assertEqual((resp.status_code, resp.json()["error"]), (404, "unknown_order"))
        self.assertIn("G-NOWHERE", resp.json()["message"])
        # an order of another backend of the same company
        other = self.env["retail.backend"].create({"name": "Other shop", "backend_type": "generic", "inbound_rate_limit": 0})
        other_key = self.env["retail.api.key"].create(
            {"name": "Other", "backend_id": other.id, "scopes": "orders:write orders:read availability:read"})._generate_secret()
        resp = self.url_open("/retail/api/v1/orders", data=json.dumps(self._canonical_order("G-OTHER")).encode(),
                             headers={"Authorization": "Bearer " + other_key, "Content-Type": "application/json"})
        self.assertEqual(resp.status_code, 202, resp.text)
        perform_pending_jobs(self.env, method="_dispatch")
        self.assertEqual(self._order("G-OTHER", other_key).json()["status"], "confirmed")
        resp = self._order("G-OTHER")
        self.assertEqual((resp.status_code, resp.json()["error"]), (404, "unknown_order"))
        # a backend of another company: neither its orders nor the first company's products
        company = self.env["res.company"].create({"name": "Other retail company", "currency_id": self.env.ref("base.USD").id})
        company._retail_connector_user()  # made at installation, or by the company's first request
        foreign = self.env["retail.backend"].create(
            {"name": "Foreign shop", "backend_type": "generic", "company_id": company.id, "inbound_rate_limit": 0})
        foreign_key = self.env["retail.api.key"].create(
            {"name": "Foreign", "backend_id": foreign.id, "scopes": "orders:read availability:read"})._generate_secret()
        resp = self._order("G-OTHER", foreign_key)
        self.assertEqual((resp.status_code, resp.json()["error"]), (404, "unknown_order"))
        own = self.env["product.product"].create(
            {"name": "Own", "default_code": "API-OWN", "is_storable": True, "company_id": self.env.company.id})
        self._move(own, 5, self.supplier, self.stock)
        self.assertEqual(self._availability({"sku": "API-OWN"}).json()["items"][0]["available"], 4)
        resp = self._availability({"sku": "API-OWN"}, foreign_key)
        self.assertEqual((resp.status_code, resp.json()["error"]), (404, "unknown_sku"))
        # a product both companies sell: the foreign backend answers its own warehouse's stock
        [item] = self._availability({"sku": "API-MUG"}, foreign_key).json()["items"]
        self.assertEqual(item["available"], 0)

