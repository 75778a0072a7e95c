# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""A 3PL speaking X12 EDI over SFTP, plugged into the shared warehouse flows.

Releases are 940 Warehouse Shipping Orders (deliveries; W05-01 ``F`` cancels one) and 943
Stock Transfer Shipment Advices (receipts and returns), written to the warehouse's folder with
control numbers from PostgreSQL sequences. Each run of the fulfilment policy reads the files
the warehouse wrote: a 997 updates the acknowledgement of what was sent; a 945, 944 or 846
enters the shared inbox (its key is the sender, interchange and transaction control numbers,
so the same file twice, under any name, is applied once) and is acknowledged with a 997; a
file that cannot be read is quarantined with the reason and acknowledged with a rejecting 997
when its envelope allows, while the other files go on. Processed files are archived.

Each partner has a validation policy (``retail.backend._x12_policy``): a lenient partner's
file with segment or element problems is applied and acknowledged as accepted with errors,
the problems shown on the EDI file for a person to accept; a strict partner's is refused
unless a person accepted those problems before. Accepting a quarantined file's problems reads
that file again (``read_again``) as if it had just arrived. An interchange marked test (ISA15 ``T``) is
acknowledged and recorded, never applied; ``send_test_interchange`` sends one to a new
partner before production.
"""

import json
from datetime import date, datetime, time, timezone
from decimal import Decimal

from odoo import fields

from odoo.addons.component.core import Component
from odoo.addons.retail_connector_base.lib.canonical import Shipment, StockLevel
from odoo.addons.retail_connector_base.lib.http import ChannelNotFound, ChannelValidationError
from odoo.addons.retail_connector_base.lib.inbound import InboundEvent, SchemaError
from odoo.addons.retail_connector_base.models.retail_event import new_correlation_id

from ..lib import x12

# what a quarantined file's record keeps of its content; a longer file is read again from the server
QUARANTINE_CONTENT_CHARS = 200000


def _envelope(backend, usage=None):
    return x12.Envelope(
        sender_id=backend.x12_sender_id, receiver_id=backend.x12_receiver_id,
        sender_qualifier=backend.x12_sender_qualifier or "ZZ", receiver_qualifier=backend.x12_receiver_qualifier or "ZZ",
        usage=usage or backend.x12_usage or "P", version=backend.x12_version or "004010",
    )


def send_test_interchange(backend):
    """Send ``backend``'s partner a test 940 (ISA15 T) for one unit of a test item; return its EDI file."""
    company = backend.company_id or backend.env.company
    partner = company.partner_id
    reference = "TEST-%s" % fields.Datetime.now().strftime("%Y%m%d%H%M%S")
    order = x12.ShippingOrder(
        order_number=reference, purchase_order=reference,
        ship_to=x12.Address(name=partner.name or company.name or "-", street=partner.street or "",
                            city=partner.city or "", state=partner.state_id.code or "", zip=partner.zip or "",
                            country=partner.country_id.code or ""),
        notes=backend.env._("Test interchange: do not ship."),
        lines=[x12.OrderLine(sku="TEST-ITEM", quantity=Decimal(1), description="Test item")],
    )
    try:
        file = x12.build_940(order, _envelope(backend, usage="T"), _numbers(backend))
    except x12.X12Error as exc:
        raise ChannelValidationError(exc.reason) from None
    with backend.work_on("retail.backend") as work:
        document = work.component(usage="x12.sender").send(file, reference)
    document.is_test = True
    return document


def _numbers(backend):
    """Control numbers from the backend's PostgreSQL sequences: never reused, even after a rollback."""
    return lambda kind: backend._x12_next("interchange" if kind == "interchange" else "group")


def _party(party):
    return x12.Address(name=party["name"] or "-", street=party["street"], street2=party["street2"],
                       city=party["city"], state=party["state"], zip=party["zip"], country=party["country_code"])


def _jsonable(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(type(value).__name__)


class X12ConnectionTester(Component):
    _name = "retail.x12.connection.tester"
    _inherit = "retail.base"
    _usage = "connection.tester"
    _apply_on = "retail.backend"
    _backend_type = "wms_x12"

    def test_connection(self):
        with self.backend_record._sftp_drop() as drop:
            waiting = drop.list_incoming()
        return self.env._("Connected to the SFTP drop: %(count)s file(s) waiting.", count=len(waiting))


class X12Sender(Component):
    """Writes interchanges to the warehouse's folder and records them for their 997."""

    _name = "retail.x12.sender"
    _inherit = "retail.base"
    _usage = "x12.sender"
    _apply_on = "retail.backend"
    _backend_type = "wms_x12"

    def send(self, document, reference, picking=None, drop=None, expect_ack=True):
        backend = self.backend_record
        name = document.filename(reference)
        if drop is None:
            with backend._sftp_drop() as own:
                own.put_outgoing(name, document.data)
        else:
            drop.put_outgoing(name, document.data)
        return self.env["retail.edi.document"].create({
            "backend_id": backend.id, "direction": "out", "transaction_set": document.transaction_id,
            "filename": name, "interchange_control": document.interchange_control,
            "group_control": document.group_control, "reference": reference,
            "picking_id": picking.id if picking else False, "state": "sent",
            "ack_state": "pending" if expect_ack else "none", "content": document.text,
        })


class X12ReleaseExporter(Component):
    """Deliveries as 940 shipping orders, receipts and returns as 943 shipment advices."""

    _name = "retail.x12.release.exporter"
    _inherit = "retail.warehouse.release.exporter"
    _backend_type = "wms_x12"

    def _release(self, picking, document):
        backend = self.backend_record
        try:
            if document["kind"] == "outgoing":
                file = x12.build_940(self._shipping_order(document), _envelope(backend), _numbers(backend))
            else:
                file = x12.build_943(x12.StockTransferShipment(
                    reference=document["reference"], expected_date=document["scheduled_date"].date(),
                    purchase_order=(document["origin"] or "")[:22],
                    carrier=(document["carrier"] or "")[:4].upper(),
                    routing="" if document["carrier"] else self.env._("Inbound to %(wh)s", wh=document["warehouse"]),
                    ship_from=_party(document["party"]),
                    lines=[x12.TransferLine(sku=line["sku"], quantity=Decimal(str(line["quantity"])))
                           for line in document["lines"]],
                ), _envelope(backend), _numbers(backend))
        except x12.X12Error as exc:
            raise ChannelValidationError(exc.reason) from None
        self.component(usage="x12.sender", model_name="retail.backend").send(file, document["reference"], picking)
        return document["reference"]

    def _shipping_order(self, document, status="N"):
        party = document["party"]
        return x12.ShippingOrder(
            order_number=document["reference"], status=status,
            purchase_order=(document["order_ref"] or "")[:22],
            ship_to=_party(party),
            requested_ship_date=document["scheduled_date"].date() if document["scheduled_date"] else None,
            carrier=(document["carrier"] or "")[:4].upper(),
            lines=[x12.OrderLine(sku=line["sku"], quantity=Decimal(str(line["quantity"])), line_number=index,
                                 description=line["name"][:80])
                   for index, line in enumerate(document["lines"], start=1)],
        )

    def _change_address(self, binding, document):
        """A 940 with W05-01 ``G`` (changes to other than line items): the same order, shipped to the new address."""
        if document["kind"] != "outgoing":
            return False
        backend = self.backend_record
        try:
            file = x12.build_940(self._shipping_order(document, status="G"), _envelope(backend), _numbers(backend))
        except x12.X12Error as exc:
            raise ChannelValidationError(exc.reason) from None
        self.component(usage="x12.sender", model_name="retail.backend").send(file, document["reference"], binding.odoo_id)
        return True

    def _cancel_release(self, binding):
        backend = self.backend_record
        picking = binding.odoo_id
        if picking.picking_type_code != "outgoing":
            raise ChannelValidationError(self.env._(
                "X12 has no cancellation of a 943 advice: tell the warehouse that %(ref)s will not arrive.",
                ref=binding.channel_ref))
        document = self._release_document(picking)
        file = x12.build_940(self._shipping_order(document, status="F"), _envelope(backend), _numbers(backend))
        self.component(usage="x12.sender", model_name="retail.backend").send(file, document["reference"], picking)


class X12FilePoller(Component):
    """Reads the warehouse's files: 997s update what was sent, documents go to the inbox."""

    _name = "retail.x12.file.poller"
    _inherit = "retail.base"
    _usage = "x12.poller"
    _apply_on = "retail.backend"
    _backend_type = "wms_x12"

    def run(self):
        backend = self.backend_record
        # One reader of a backend's files at a time (the policy's run and "Read warehouse files
        # now" may overlap): the second waits, then lists only what the first left.
        self.env.cr.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (self._lock_name(),))
        counts = {"applied": 0, "duplicate": 0, "acknowledgements": 0, "quarantined": 0}
        new_events = []
        with backend._sftp_drop() as drop:
            for name in drop.list_incoming():
                # one savepoint per file: a bad file never stops the others
                with self.env.cr.savepoint():
                    self._read_file(drop, name, counts, new_events)
        self.env["retail.event"].browse(new_events)._enqueue()
        return "files from %s: %s" % (backend.name, ", ".join("%d %s" % (v, k) for k, v in counts.items()))

    def _lock_name(self):
        """Return the advisory lock's name that serialises the reading of this backend's files."""
        return "retail-x12-poll-%s" % self.backend_record.id

    def _read_file(self, drop, name, counts, new_events):
        data = drop.read(name)
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        self._read_text(drop, name, text, counts, new_events)

    def read_again(self, record):
        """Read quarantined EDI file ``record`` again under the partner's policy; return what happened.

        The file goes through the path of a file just read from the drop (inbox events under the
        same idempotency keys, 997, archive), its record reused. Returns ``(outcome, detail)``:
        ``("queued", event ids)`` when its documents went to the inbox, ``("duplicate", "")``
        when the inbox already held them, ``("acknowledgement", "")`` or ``("test", "")`` for
        a 997 or a test interchange, ``("refused", reason)`` when it still cannot be applied,
        ``("skipped", state)`` when it is no longer quarantined (read again already).
        """
        # the reader's lock, then the file's row: a second click (or a run of the poller) waits,
        # then finds the file no longer quarantined
        self.env.cr.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (self._lock_name(),))
        self.env.cr.execute("SELECT id FROM retail_edi_document WHERE id = %s FOR UPDATE", (record.id,))
        record.invalidate_recordset()
        if record.state != "quarantined" or record.direction != "in":
            return "skipped", record.state
        counts = {"applied": 0, "duplicate": 0, "acknowledgements": 0, "quarantined": 0, "test": 0}
        new_events = []
        with self.backend_record._sftp_drop() as drop:
            text = record.content or ""
            if len(text) >= QUARANTINE_CONTENT_CHARS and record.quarantined_as:
                data = drop.read(record.quarantined_as, quarantined=True)
                text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
            self._read_text(drop, record.filename, text, counts, new_events, record=record)
        self.env["retail.event"].browse(new_events)._enqueue()
        if counts["quarantined"]:
            return "refused", record.error
        if counts["duplicate"]:
            return "duplicate", ""
        if counts["acknowledgements"]:
            return "acknowledgement", ""
        if counts["test"]:
            return "test", ""
        return "queued", new_events

    def _done_with(self, drop, name, record=None):
        """Archive a file read: from the incoming folder, or from quarantine when read again."""
        if record is None:
            drop.archive(name)
        elif record.quarantined_as:
            try:
                drop.archive_quarantined(record.quarantined_as)
            except ChannelNotFound:
                pass  # someone cleared the quarantine folder already
            record.quarantined_as = False

    def _read_text(self, drop, name, text, counts, new_events, record=None):
        """Read one file's text; ``record`` is its quarantined EDI file when it is read again."""
        Document = self.env["retail.edi.document"]
        backend = self.backend_record
        policy = backend._x12_policy()
        assessment = None
        try:
            interchange = x12.parse_interchange(text)
            assessment = x12.assess(interchange, policy)
            sets = {t.id for _g, t in interchange.transactions()}
            if sets == {"997"}:
                interchange.raise_for_problems()
                self._apply_acknowledgement(text, name, record)
                counts["acknowledgements"] += 1
                self._done_with(drop, name, record)
                return
            _interchange, documents, assessment = x12.read_with_policy(text, policy)
        except x12.X12Error as exc:
            if record is None:
                self._quarantine(drop, name, text, exc, assessment)
            else:
                self._still_refused(record, exc, assessment)
            counts["quarantined"] += 1
            return
        if interchange.usage == "T":
            self._acknowledge_test(drop, name, text, interchange, documents, policy, assessment, record)
            counts.setdefault("test", 0)
            counts["test"] += 1
            return
        control = interchange.control_number
        sender = interchange.sender_id.strip()
        values = {
            "backend_id": backend.id, "direction": "in", "filename": name, "interchange_control": None,
            "transaction_set": _set_of(documents[0]),
            "reference": _reference_of(documents[0]), "state": "received", "content": text,
            "group_control": ",".join(g.control_number for g in interchange.groups),
            "x12_problems": False, "x12_problem_keys": False, "review_state": "none", "error": False,
            **self._problem_values(assessment),
        }
        if record is None:
            record = Document.create(values)
            read_again = False
        else:
            record.write(values)
            read_again = True
        duplicates = 0
        for (group, transaction), document in zip(interchange.transactions(), documents):
            key = "x12:%s:%s:%s:%s" % (sender, control, group.control_number, transaction.control_number)
            inbound = self._inbound(document, key)
            payload = json.dumps(self._payload(document), default=_jsonable, sort_keys=True)
            event_id, duplicate = self.env["retail.event"]._insert_received(
                backend, inbound, payload, "poll", new_correlation_id())
            if duplicate:
                duplicates += 1
            else:
                new_events.append(event_id)
                record.event_id = event_id
        if duplicates == len(documents):
            record.write({"state": "duplicate", "error": self.env._(
                "Interchange %(control)s from %(sender)s was already received: nothing applied again.",
                control=control, sender=sender)})
            counts["duplicate"] += 1
        else:
            # the interchange control number identifies the file once per sender
            record.interchange_control = control
            counts["applied"] += 1
        ack = x12.build_997(interchange, _envelope(backend), _numbers(backend), policy=policy)
        self.component(usage="x12.sender", model_name="retail.backend").send(
            ack, "997-%s" % control, drop=drop, expect_ack=False)
        self._done_with(drop, name, record if read_again else None)

    def _still_refused(self, record, exc, assessment):
        """A quarantined file read again and refused again: its reason and problems brought up to date."""
        record.write({"error": exc.reason, "x12_problems": "\n".join(str(p) for p in exc.problems) or False,
                      "x12_problem_keys": False, "review_state": "none",
                      **self._problem_values(assessment, refused=True)})

    def _problem_values(self, assessment, refused=False):
        """The EDI file's problems as a person sees them, and whether they wait for a review."""
        if assessment is None:
            return {}
        if refused:
            keys = assessment.refusable_keys()
            return {"x12_problem_keys": "\n".join(keys) or False,
                    "review_state": "to_review" if keys else "none"}
        if not assessment.noted:
            return {"ack_state": "accepted"}
        return {"x12_problems": assessment.describe(), "x12_problem_keys": "\n".join(assessment.keys()),
                "review_state": "to_review" if assessment.new_keys() else "accepted",
                "ack_state": "accepted_errors"}

    def _acknowledge_test(self, drop, name, text, interchange, documents, policy, assessment, record=None):
        """A partner's test interchange (ISA15 T): acknowledged and recorded, nothing applied."""
        backend = self.backend_record
        values = {
            "backend_id": backend.id, "direction": "in", "filename": name, "state": "test", "is_test": True,
            "transaction_set": _set_of(documents[0]), "reference": _reference_of(documents[0]), "content": text,
            "group_control": ",".join(g.control_number for g in interchange.groups),
            "x12_problems": False, "x12_problem_keys": False, "review_state": "none", "error": False,
            **self._problem_values(assessment),
        }
        if record is None:
            self.env["retail.edi.document"].create(values)
        else:
            record.write(values)
        ack = x12.build_997(interchange, _envelope(backend, usage="T"), _numbers(backend), policy=policy)
        self.component(usage="x12.sender", model_name="retail.backend").send(
            ack, "997-%s" % interchange.control_number, drop=drop, expect_ack=False)
        self._done_with(drop, name, record)

    def _quarantine(self, drop, name, text, exc, assessment=None):
        backend = self.backend_record
        path = drop.quarantine(name, exc.reason)
        record = self.env["retail.edi.document"].create({
            "backend_id": backend.id, "direction": "in", "filename": name, "state": "quarantined",
            "quarantined_as": path.rsplit("/", 1)[-1],
            "error": exc.reason, "content": text[:QUARANTINE_CONTENT_CHARS],
            "x12_problems": "\n".join(str(p) for p in exc.problems) or False,
            **self._problem_values(assessment, refused=True),
        })
        try:
            # the envelope may still be readable: a rejecting 997 tells the warehouse what was wrong
            interchange = x12.parse_interchange(text)
            if interchange.groups and not interchange.problems:
                # groups with problems are rejected in the 997, with the segments at fault
                ack = x12.build_997(interchange, _envelope(backend), _numbers(backend))
                self.component(usage="x12.sender", model_name="retail.backend").send(
                    ack, "997-%s" % interchange.control_number, drop=drop, expect_ack=False)
                record.ack_state = "rejected"
        except x12.X12Error:
            pass
        backend.message_post(body=self.env._("File %(name)s from the warehouse was quarantined: %(reason)s",
                                             name=name, reason=exc.reason))

    def _apply_acknowledgement(self, text, name, record=None):
        backend = self.backend_record
        report = x12.parse_997(text)
        Document = self.env["retail.edi.document"]
        for group in report.groups:
            sent = Document.search([("backend_id", "=", backend.id), ("direction", "=", "out"),
                                    ("group_control", "=", str(group.group_control))], limit=1)
            if not sent:
                continue
            state = {"A": "accepted", "E": "accepted_errors", "P": "accepted_errors", "R": "rejected"}.get(
                group.status, "rejected")
            sent.write({"ack_state": state, "error": False if state == "accepted" else group.describe()})
            if state == "rejected" and sent.picking_id:
                binding = sent.picking_id.retail_bind_ids.filtered(lambda b: b.backend_id == backend)
                binding.write({"warehouse_status": "exception", "sync_state": "failed", "last_error": group.describe()})
                sent.picking_id.activity_schedule(
                    "mail.mail_activity_data_warning", summary=self.env._("Warehouse exception"),
                    note=self.env._("The warehouse rejected %(file)s: %(why)s", file=sent.filename,
                                    why=group.describe()),
                    user_id=sent.picking_id.user_id.id or self.env.uid)
        values = {"backend_id": backend.id, "direction": "in", "transaction_set": "997", "filename": name,
                  "state": "processed", "content": text}
        if record is None:
            Document.create(values)
        else:
            record.write({**values, "error": False, "review_state": "accepted" if record.x12_problem_keys else "none"})

    def _inbound(self, document, key):
        kind = _set_of(document)
        reference = _reference_of(document)
        if kind == "846":
            domain, aggregate = "inventory", "snapshot"
            stamp = document.snapshot
        else:
            domain, aggregate = "fulfilment", "transfer"
            day = document.ship_date if kind == "945" else document.received_date
            stamp = datetime.combine(day, time(12)) if day else None
        if stamp and stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        return InboundEvent(topic=kind, domain=domain, aggregate_type=aggregate, aggregate_key=reference,
                            idempotency_key=key, channel_timestamp=stamp)

    def _payload(self, document):
        """The canonical form of a document: a Shipment (945, 944) or stock levels (846)."""
        kind = _set_of(document)
        if kind == "846":
            return {"reference": document.reference, "warehouse": document.warehouse_id,
                    "levels": [StockLevel.from_dict({
                        "sku": item.sku, "location_external_id": document.warehouse_id or None,
                        "quantity": item.on_hand if item.on_hand is not None else item.available,
                        "available": item.available}).to_dict() for item in document.items]}
        if kind == "945":
            lines = [{"sku": line.sku, "quantity": line.shipped,
                      "lots": list(line.serials) or ([line.lot] if line.lot else []),
                      "package": (line.packages[0].sscc or line.packages[0].tracking) if line.packages else None}
                     for line in document.lines if line.shipped]
            return Shipment.from_dict({
                "external_id": "945-%s" % (document.shipment_id or document.order_number),
                "order_external_id": document.order_number, "picking_reference": document.order_number,
                "carrier": document.carrier or None,
                "tracking_numbers": [document.tracking] if document.tracking else [],
                "shipped_at": datetime.combine(document.ship_date, time(12), tzinfo=timezone.utc),
                "lines": lines,
            }).to_dict()
        lines = [{"sku": line.sku, "quantity": line.received - (line.damaged or 0), "damaged_quantity": line.damaged,
                  "lots": [line.lot] if line.lot else []} for line in document.lines if line.received - (line.damaged or 0) > 0]
        return Shipment.from_dict({
            "external_id": "944-%s" % document.receipt_number, "order_external_id": document.reference,
            "picking_reference": document.reference, "lines": lines,
        }).to_dict()


def _set_of(document):
    return {"ShippingAdvice": "945", "StockTransferReceipt": "944", "InventoryAdvice": "846"}.get(
        type(document).__name__, "")


def _reference_of(document):
    return getattr(document, "order_number", None) or getattr(document, "reference", None) or ""


class X12EventParser(Component):
    """Documents the poller stored: the canonical Shipment of a 945/944, the levels of an 846."""

    _name = "retail.x12.event.parser"
    _inherit = "retail.event.parser"
    _backend_type = "wms_x12"
    _topics = {"945": ("fulfilment", "transfer"), "944": ("fulfilment", "transfer"), "846": ("inventory", "snapshot")}

    def topic_of(self, headers, resource=None, data=None):
        return ""

    def parse(self, topic, headers, data, body):
        raise SchemaError("X12 documents arrive as files on the SFTP drop, not over HTTP",
                          details=[{"field": "", "message": "not accepted here"}])


class X12EventProcessor(Component):
    _name = "retail.x12.event.processor"
    _inherit = "retail.event.processor"
    _backend_type = "wms_x12"

    def process(self, event, data):
        if event.topic == "846":
            run = self.env["retail.reconciliation.run"].create({"backend_id": self.backend_record.id,
                                                                 "domain": "inventory"})
            levels = [StockLevel.from_dict(level) for level in data["levels"]]
            with self.backend_record.work_on("retail.reconciliation.run") as work:
                checked = work.component(usage="inventory.reconciler")._apply_snapshot(run, levels)
            run._finish(checked, message=self.env._("846 %(ref)s", ref=data.get("reference")))
            return "snapshot: %d checked, %d differences" % (checked, run.difference_count), run
        writer = self.component(usage="shipment.writer", model_name="retail.picking.binding")
        picking, outcome = writer.apply(Shipment.from_dict(data))
        self.env["retail.edi.document"].search([("event_id", "=", event.id)]).write(
            {"state": "processed", "picking_id": picking.id})
        return outcome, picking


class X12Snapshot(Component):
    """846 advices arrive as files: the reconciliation applies them when they are processed."""

    _name = "retail.x12.stock.snapshot"
    _inherit = "retail.stock.snapshot.reconciler"
    _backend_type = "wms_x12"

    def reconcile(self, run):
        # the 846 files are read by the poller; this run reads the drop so that they are applied now
        self.component(usage="x12.poller", model_name="retail.backend").run()
        return 0


class X12FulfilmentBatch(Component):
    """Each run of the fulfilment policy reads the warehouse's files (after any wave release)."""

    _name = "retail.x12.fulfilment.batch"
    _inherit = "retail.warehouse.wave.release"
    _backend_type = "wms_x12"

    def run(self):
        wave = super().run()
        files = self.component(usage="x12.poller", model_name="retail.backend").run()
        self.backend_record.policy_for("fulfilment").last_run = fields.Datetime.now()
        return "%s; %s" % (wave, files)
