# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Transfers executed by a warehouse or 3PL, whatever its protocol.

- Release: a transfer routed to a warehouse backend (``retail.warehouse.route``) is sent to
  it when its fulfilment policy says (on confirmation, on availability, or in waves), as a
  shipment order for a delivery or an advance shipping notice for a receipt; a cancelled
  transfer is cancelled at the warehouse.
- Confirmation: what the warehouse shipped or received (a canonical ``Shipment``) validates the
  transfer with those quantities, lots, serials, packages and tracking numbers; a short
  shipment leaves a backorder, which the next confirmation of the same order validates.
- Stock snapshots: the warehouse's on-hand quantities against Odoo's quants; differences
  within the inventory policy's tolerance become inventory adjustments, larger ones wait for
  review on the reconciliation run.

- Address changes: a released delivery whose address changed (its order's channel changed it,
  ``retail.order.updater``) has its binding pending; the next export tells the warehouse, or,
  when its protocol has no way to, asks a person to with an activity on the transfer.

Channels implement only the protocol: ``_release``, ``_cancel_release``, ``_change_address``
(optional) and ``_fetch_snapshot``.
"""

import json
from decimal import Decimal

from odoo import Command, fields

from odoo.addons.component.core import AbstractComponent, Component
from odoo.addons.component_event import skip_if

from ..lib.http import ChannelValidationError
from .errors import RetailMappingError
from .listeners import _skip

RELEASE_STATES = {
    "confirm": ("confirmed", "waiting", "assigned", "partially_available"),
    "availability": ("assigned",),
    "wave": ("assigned",),
}
SHIPPED, PARTIAL, UNCHANGED = "shipped", "partially shipped", "unchanged"


def _naive_utc(value):
    return value.replace(tzinfo=None) if value else None


class WarehouseReleaseListener(Component):
    """A transfer confirmed, reserved or cancelled: its warehouse may have to hear of it."""

    _name = "retail.warehouse.release.listener"
    _inherit = "retail.listener.base"
    _apply_on = ["stock.move"]

    @skip_if(_skip)
    def on_record_write(self, record, fields=None):
        if "state" not in (fields or ()):
            return
        picking = record.picking_id
        if not picking or record.state not in ("confirmed", "waiting", "assigned", "partially_available", "cancel"):
            return
        try:
            backend = self.env["retail.warehouse.route"]._route(picking)
        except RetailMappingError as exc:
            _flag_picking(picking, str(exc))
            return
        if not backend or not backend.is_warehouse:
            return
        policy = backend.policy_for("fulfilment")
        if not policy or policy.mode == "off" or policy.direction not in ("outbound", "both"):
            return
        released = picking.retail_bind_ids.filtered(lambda b: b.backend_id == backend)
        if picking.state == "cancel" and not released:
            return
        if picking.state != "cancel" and (released or policy.release_trigger == "wave"):
            return
        self._request(backend, "fulfilment", picking)


def _releasable(picking, trigger):
    """Whether a transfer is ready for its warehouse under a release trigger.

    Available means every move reserved: a partly reserved delivery (ready under "as soon as
    possible") waits, so that the warehouse is not asked to ship what Odoo has not got.
    """
    if picking.state not in RELEASE_STATES[trigger]:
        return False
    if trigger == "confirm" or picking.picking_type_code == "incoming":
        return True
    moves = picking.move_ids.filtered(lambda m: m.state != "cancel")
    return bool(moves) and all(m.state == "assigned" for m in moves)


def _flag_picking(picking, message):
    """Tell the people in charge of a transfer that it cannot go to its warehouse, once."""
    summary = picking.env._("Warehouse routing")
    if picking.activity_ids.filtered(lambda a: a.summary == summary):
        return
    picking.message_post(body=message)
    picking.activity_schedule("mail.mail_activity_data_warning", summary=summary, note=message,
                              user_id=picking.user_id.id or picking.env.uid)


class WarehouseReleaseExporter(AbstractComponent):
    """Releases transfers to a warehouse and cancels them there; channels say how."""

    _name = "retail.warehouse.release.exporter"
    _inherit = "retail.exporter"
    _usage = "fulfilment.exporter"
    _batch_size = 1

    def export(self, requests):
        backend = self.backend_record
        picking = self.env["stock.picking"].browse(requests.res_id).exists()
        if not picking:
            return
        binding = picking.retail_bind_ids.filtered(lambda b: b.backend_id == backend)
        if picking.state == "cancel":
            if binding and binding.warehouse_status not in ("cancelled", "shipped", "received"):
                self._cancel_release(binding)
                binding.write({"warehouse_status": "cancelled", "sync_date": fields.Datetime.now()})
                picking.message_post(body=self.env._("Cancelled at %(backend)s.", backend=backend.name))
            return
        if binding and binding.sync_state == "pending" and binding.warehouse_status == "released" \
                and picking.state != "done":
            self._send_address(binding, picking)
            return
        if binding or picking.state == "done":
            return
        trigger = backend.policy_for("fulfilment").release_trigger or "availability"
        if not _releasable(picking, trigger):
            return
        document = self._release_document(picking)
        external_id = self._release(picking, document)
        self.binder_for("retail.picking.binding").bind_record(
            external_id or document["reference"], picking, sync_state="synced", channel_ref=document["reference"],
            warehouse_status="released",
        )
        picking.message_post(
            body=self.env._("Released to %(backend)s as %(ref)s.", backend=backend.name, ref=external_id or document["reference"])
        )

    def _release_document(self, picking):
        """Return the transfer as a neutral document: reference, kind, addresses, lines by SKU."""
        partner = picking.partner_id
        company = picking.company_id.partner_id
        lines = []
        # a cancelled transfer's moves are cancelled too: its document names what was ordered
        moves = picking.move_ids if picking.state == "cancel" else picking.move_ids.filtered(lambda m: m.state != "cancel")
        for move in moves.filtered("product_uom_qty"):
            lines.append({
                "line_ref": str(move.id), "sku": self._require_sku(move.product_id),
                "name": move.product_id.display_name, "quantity": move.product_uom_qty,
                "uom": move.product_uom.name, "barcode": move.product_id.barcode or None,
                "tracking": move.product_id.tracking,
            })
        if not lines:
            raise ChannelValidationError(self.env._("Transfer %(name)s has nothing to release.", name=picking.name))
        return {
            "reference": picking.name,
            "kind": picking.picking_type_code,  # outgoing: shipment order; incoming: advance shipping notice
            "origin": picking.origin or None,
            "order_ref": picking.sale_id.client_order_ref or picking.sale_id.name if "sale_id" in picking._fields else None,
            "scheduled_date": picking.scheduled_date,
            "carrier": picking.carrier_id.name if "carrier_id" in picking._fields and picking.carrier_id else None,
            "service": picking.carrier_id.delivery_type if "carrier_id" in picking._fields and picking.carrier_id else None,
            "party": _address(partner or company),
            "warehouse": picking.picking_type_id.warehouse_id.code,
            "is_return": bool(picking.move_ids.origin_returned_move_id),
            "lines": lines,
        }

    def _release(self, picking, document):
        """Send the document to the warehouse; return the warehouse's id for it (or None)."""
        raise NotImplementedError

    def _cancel_release(self, binding):
        """Ask the warehouse to cancel a released transfer."""
        raise NotImplementedError

    def _change_address(self, binding, document):
        """Send the warehouse the new delivery address of a released transfer; return False when the protocol cannot."""
        return False

    def _send_address(self, binding, picking):
        """Tell the warehouse the new address of a released delivery, or a person when its protocol cannot."""
        backend = self.backend_record
        document = self._release_document(picking)
        party = document["party"]
        address = ", ".join(p for p in (party["name"], party["street"], party["street2"],
                                        " ".join(p for p in (party["zip"], party["city"]) if p), party["state"],
                                        party["country_code"]) if p)
        told = self._change_address(binding, document)
        binding.write({"sync_state": "synced", "sync_date": fields.Datetime.now()})
        if told:
            picking.message_post(body=self.env._("New delivery address sent to %(backend)s: %(address)s.",
                                                 backend=backend.name, address=address))
            return
        message = self.env._(
            "The delivery address of %(ref)s changed after it was released to %(backend)s, whose protocol has no "
            "address change: give the warehouse the new address (%(address)s), or have it cancel the order and "
            "release it again.", ref=binding.channel_ref or picking.name, backend=backend.name, address=address)
        picking.message_post(body=message)
        picking.activity_schedule("mail.mail_activity_data_warning", summary=self.env._("Tell the warehouse the new address"),
                                  note=message, user_id=picking.user_id.id or backend.responsible_user_id.id or self.env.uid)


def _address(partner):
    return {
        "name": partner.name or "", "street": partner.street or "", "street2": partner.street2 or "",
        "city": partner.city or "", "zip": partner.zip or "", "state": partner.state_id.code or "",
        "country_code": partner.country_id.code or "", "phone": partner.phone or "", "email": partner.email or "",
    }


class WaveRelease(AbstractComponent):
    """Each run of a warehouse's fulfilment policy in waves releases every ready transfer."""

    _name = "retail.warehouse.wave.release"
    _inherit = "retail.base"
    _usage = "fulfilment.batch"
    _apply_on = "retail.backend"

    def run(self):
        backend = self.backend_record
        policy = backend.policy_for("fulfilment")
        if policy.release_trigger != "wave":
            return "release %s: not in waves" % policy.release_trigger
        routes = backend.warehouse_route_ids
        pickings = self.env["stock.picking"].search([
            ("picking_type_id.warehouse_id", "in", routes.warehouse_id.ids), ("state", "=", "assigned"),
            ("picking_type_code", "in", ("outgoing", "incoming")),
        ])
        released = self.env["retail.picking.binding"].search([("backend_id", "=", backend.id)]).odoo_id
        wave = self.env["stock.picking"]
        for picking in pickings - released:
            if not _releasable(picking, "wave"):
                continue
            try:
                if self.env["retail.warehouse.route"]._route(picking) == backend:
                    wave |= picking
            except RetailMappingError as exc:
                _flag_picking(picking, str(exc))
        if wave:
            self.env["retail.export.request"]._request(backend, "fulfilment", wave)
        return "wave of %d transfer(s) to %s" % (len(wave), backend.name)


class ShipmentWriter(Component):
    """Validates a released transfer with what the warehouse shipped or received."""

    _name = "retail.shipment.writer"
    _inherit = "retail.base"
    _usage = "shipment.writer"
    _apply_on = "retail.picking.binding"

    def apply(self, shipment):
        """Apply a canonical Shipment; return (picking, "shipped" | "partially shipped" | "unchanged")."""
        if self.env.context.get("retail_origin_backend") != self.backend_record.id:
            backend = self.backend_record.with_context(retail_origin_backend=self.backend_record.id)
            with backend.work_on(self.model._name) as work:
                return work.component(usage=self._usage).apply(shipment)
        backend = self.backend_record
        reference = shipment.picking_reference or shipment.order_external_id
        self.advisory_lock_or_retry("retail-shipment-%s-%s" % (backend.id, reference), retry_seconds=2)
        binding = self._binding(shipment)
        key = shipment.external_id or json.dumps(shipment.to_dict(), sort_keys=True)
        applied = json.loads(binding.applied_shipments or "[]")
        if key in applied:
            return binding.odoo_id, UNCHANGED
        picking = self._open_picking(binding.odoo_id)
        if not picking:
            return binding.odoo_id, UNCHANGED
        self._set_quantities(picking, shipment)
        if shipment.tracking_numbers and "carrier_tracking_ref" in picking._fields:
            picking.carrier_tracking_ref = ", ".join(shipment.tracking_numbers)
        if shipment.shipped_at:
            picking.date_done = _naive_utc(shipment.shipped_at)
        picking.with_context(skip_backorder=True, picking_ids_not_to_backorder=[], skip_sms=True,
                             skip_expired=True).button_validate()
        if picking.state != "done":
            raise ChannelValidationError(
                self.env._("Transfer %(name)s could not be validated with the warehouse's quantities.", name=picking.name)
            )
        if shipment.shipped_at:
            picking.date_done = _naive_utc(shipment.shipped_at)
        backorder = picking.backorder_ids.filtered(lambda p: p.state not in ("done", "cancel"))
        incoming = picking.picking_type_code == "incoming"
        status = ("received" if incoming else "shipped") if not backorder else "partial"
        binding.write({
            "applied_shipments": json.dumps(applied + [key]),
            "warehouse_status": status,
            "sync_state": "synced",
            "sync_date": fields.Datetime.now(),
        })
        damaged = [(line.sku, line.damaged_quantity) for line in shipment.lines if line.damaged_quantity]
        notes = [self.env._("Validated from %(backend)s%(tracking)s.", backend=backend.name,
                            tracking=(" (%s)" % ", ".join(shipment.tracking_numbers)) if shipment.tracking_numbers else "")]
        if backorder:
            notes.append(self.env._("Short shipment: backorder %(name)s waits for the rest.", name=backorder[:1].name))
        if damaged:
            notes.append(self.env._("Reported damaged: %(items)s.",
                                    items=", ".join("%s x %s" % (qty, sku) for sku, qty in damaged)))
        picking.message_post(body=" ".join(notes))
        return picking, PARTIAL if backorder else SHIPPED

    def _binding(self, shipment):
        Binding = self.env["retail.picking.binding"]
        backend = self.backend_record
        for ref in filter(None, (shipment.order_external_id, shipment.picking_reference)):
            binding = Binding.search([("backend_id", "=", backend.id), "|", ("external_id", "=", ref),
                                      ("channel_ref", "=", ref)], limit=1)
            if binding:
                return binding
        raise RetailMappingError(
            self.env._("%(backend)s confirmed %(ref)s, which was never released to it.", backend=backend.name,
                       ref=shipment.picking_reference or shipment.order_external_id),
            kind="unknown_transfer",
        )

    def _open_picking(self, picking):
        """Return the transfer the next confirmation applies to: the picking, else its open backorder."""
        while picking and picking.state in ("done", "cancel"):
            picking = picking.backorder_ids.filtered(lambda p: p.state not in ("done", "cancel"))[:1]
        return picking

    def _set_quantities(self, picking, shipment):
        resolver = self.component(usage="product.resolver", model_name="retail.product.binding")
        wanted = {}
        for line in shipment.lines:
            product = resolver.resolve(sku=line.sku)
            wanted.setdefault(product, []).append(line)
        moves = picking.move_ids.filtered(lambda m: m.state not in ("done", "cancel"))
        unknown = [p.display_name for p in wanted if p not in moves.product_id]
        if unknown:
            raise RetailMappingError(
                self.env._("The warehouse reports %(products)s, which transfer %(name)s does not hold.",
                           products=", ".join(unknown), name=picking.name),
                kind="unknown_product",
            )
        for move in moves:
            lines = wanted.pop(move.product_id, [])
            move.move_line_ids.unlink()
            quantity = sum(Decimal(line.quantity) for line in lines)
            if quantity:
                move.move_line_ids = [Command.create(vals) for vals in self._move_line_values(move, lines)]
            move.picked = bool(quantity)
            if not quantity:
                move.quantity = 0

    def _move_line_values(self, move, lines):
        values = []
        base = {"product_id": move.product_id.id, "location_id": move.location_id.id,
                "location_dest_id": move.location_dest_id.id, "product_uom_id": move.product_uom.id,
                "picking_id": move.picking_id.id}
        for line in lines:
            package = self._package(line.package) if line.package else None
            split = self._split(move.product_id, line)
            for lot_name, quantity in split:
                vals = dict(base, quantity=float(quantity))
                if lot_name:
                    vals["lot_id"] = self._lot(move.product_id, lot_name).id
                if package:
                    vals["result_package_id"] = package.id
                values.append(vals)
        return values

    def _split(self, product, line):
        """Return [(lot or None, quantity)] for a shipment line, by the product's tracking."""
        if line.lot_quantities:
            return [(lot.lot, lot.quantity) for lot in line.lot_quantities]
        if product.tracking == "serial" and line.lots:
            if len(line.lots) != int(line.quantity):
                raise ChannelValidationError(
                    self.env._("%(qty)s x %(sku)s shipped with %(count)s serial numbers.", qty=line.quantity,
                               sku=line.sku, count=len(line.lots))
                )
            return [(serial, Decimal(1)) for serial in line.lots]
        if product.tracking == "lot" and len(line.lots) > 1:
            raise ChannelValidationError(
                self.env._("%(sku)s shipped from several lots without their quantities.", sku=line.sku)
            )
        if product.tracking != "none" and not line.lots:
            raise ChannelValidationError(
                self.env._("%(sku)s is tracked by %(tracking)s but the warehouse gave none.", sku=line.sku,
                           tracking=product.tracking)
            )
        return [(line.lots[0] if line.lots and product.tracking != "none" else None, line.quantity)]

    def _lot(self, product, name):
        Lot = self.env["stock.lot"]
        company = self.backend_record.company_id
        lot = Lot.search([("product_id", "=", product.id), ("name", "=", name),
                          ("company_id", "in", [False, company.id])], limit=1)
        return lot or Lot.create({"product_id": product.id, "name": name, "company_id": company.id})

    def _package(self, name):
        Package = self.env["stock.package"]
        return Package.search([("name", "=", name)], limit=1) or Package.create({"name": name})


class StockSnapshotReconciler(AbstractComponent):
    """A warehouse's on-hand stock against Odoo's quants, per product and location.

    Channels implement ``_fetch_snapshot`` returning canonical StockLevels whose
    ``location_external_id`` is mapped to an Odoo location by the backend's location map
    (else the routed warehouse's stock location).
    """

    _name = "retail.stock.snapshot.reconciler"
    _inherit = "retail.reconciler"
    _usage = "inventory.reconciler"
    _domain = "inventory"

    def _fetch_snapshot(self):
        raise NotImplementedError

    def reconcile(self, run):
        levels = list(self._fetch_snapshot())
        return self._apply_snapshot(run, levels)

    def _apply_snapshot(self, run, levels):
        backend = self.backend_record
        policy = backend.policy_for("inventory")
        resolver = self.component(usage="product.resolver", model_name="retail.product.binding")
        Quant = self.env["stock.quant"].with_context(inventory_mode=True)
        checked = 0
        for level in levels:
            checked += 1
            location = self._location(level.location_external_id)
            key = "%s @ %s" % (level.sku, location.display_name)
            try:
                product = resolver.resolve(sku=level.sku)
            except RetailMappingError as exc:
                run._add("missing_in_odoo", level.sku, None, level.quantity, message=str(exc)[:250])
                continue
            ours = Decimal(str(product.with_context(location=location.id).qty_available)).normalize()
            ours = Decimal(format(ours, "f"))
            theirs = level.quantity if level.quantity is not None else level.available
            drift = theirs - ours
            if not drift:
                continue
            tolerance = max(Decimal(str(policy.drift_tolerance or 0)),
                            abs(ours) * Decimal(str(policy.drift_tolerance_percent or 0)) / 100)
            channel_owns = policy.system_of_record == "channel"
            if abs(drift) <= tolerance and channel_owns:
                quant = Quant.search([("product_id", "=", product.id), ("location_id", "=", location.id),
                                      ("lot_id", "=", False)], limit=1)
                if not quant:
                    quant = Quant.create({"product_id": product.id, "location_id": location.id})
                quant.inventory_quantity = float(quant.quantity + float(drift))
                quant.with_context(inventory_name=self.env._("Snapshot of %(backend)s", backend=backend.name)
                                   ).action_apply_inventory()
                action, message = "applied_odoo", self.env._("adjusted by %(drift)s", drift=drift)
                run._add("quantity_drift", key, ours, theirs, action="repaired", message=message,
                         res_model=product._name, res_id=product.id)
            else:
                # Odoo's side is not sent back by itself: the count is of goods on hand, what Odoo sends
                # a channel is available to sell, and the one would never settle the other
                action = "waiting"
                message = self.env._("drift of %(drift)s beyond the tolerance of %(tol)s: review", drift=drift,
                                     tol=tolerance) if channel_owns else self.env._("Odoo is the system of record")
                run._add("quantity_drift", key, ours, theirs, action="reported", message=message,
                         res_model=product._name, res_id=product.id)
            self.env["retail.conflict"]._record(
                backend, "inventory", product, "qty_available", ours, theirs, "channel" if channel_owns else "odoo",
                action, field_label=self.env._("On hand"), key=key, run=run, message=message)
        return checked

    def _location(self, external_id):
        backend = self.backend_record
        mapped = backend.location_map_ids.filtered(lambda m: m.external_id == str(external_id)) if external_id else None
        if mapped and mapped[0].location_ids:
            return mapped[0].location_ids[:1]
        warehouse = backend.warehouse_route_ids.warehouse_id[:1] or backend.warehouse_id
        if not warehouse:
            raise RetailMappingError(
                self.env._("Stock of %(backend)s at location %(loc)s: map the location on the backend.",
                           backend=backend.name, loc=external_id),
                kind="missing_mapping",
            )
        return warehouse.lot_stock_id
