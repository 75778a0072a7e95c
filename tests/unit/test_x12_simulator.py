"""Tests of the X12 warehouse simulator and of SftpDrop against it, over real SFTP on loopback.

The connector's side is played by the product's own protocol layer (``lib.sftp`` and
``lib.x12``); the simulator answers with its own X12 reader and writer, so that a file both
accept was understood the same way by two independent implementations.
"""

from datetime import date, datetime, timezone
from decimal import Decimal

import asyncssh
import pytest

from retail_connector_base_lib.http import (
    ChannelAuthError,
    ChannelNotFound,
    ChannelTransportError,
    ChannelValidationError,
)
from retail_connector_wms_lib.sftp import HostKey, SftpDrop, fetch_host_key
from retail_connector_wms_lib.x12 import (
    Address,
    Envelope,
    InMemoryControlNumbers,
    OrderLine,
    ShippingAdvice,
    ShippingOrder,
    StockTransferShipment,
    TransferLine,
    X12Error,
    build_940,
    build_943,
    ValidationPolicy,
    build_997,
    parse_846,
    parse_944,
    parse_945,
    parse_997,
    parse_interchange,
    read_documents,
    read_interchange,
    read_with_policy,
)
from simulators.x12_warehouse import FAULTS, X12Warehouse, demo_host_key, read_x12, write_x12

US = Envelope("RETAILCO", "3PLWHSE")
SHIP_TO = Address("Jane Doe", "969 Market St", city="San Francisco", state="CA", zip="94103", country="US")
CLOCK = lambda: datetime(2025, 3, 4, 9, 30, tzinfo=timezone.utc)  # noqa: E731


@pytest.fixture
def warehouse():
    with X12Warehouse(clock=CLOCK, poll_interval=0.02) as wh:
        yield wh


@pytest.fixture
def numbers():
    return InMemoryControlNumbers(100)


def drop_for(wh: X12Warehouse, **options) -> SftpDrop:
    options.setdefault("password", wh.password)
    options.setdefault("host_key_fingerprint", wh.host_key_fingerprint)
    return SftpDrop(wh.host, wh.username, port=wh.port, timeout=5, **options)


def send_order(drop: SftpDrop, numbers, order_number="SO-1", lines=None):
    order = ShippingOrder(order_number, SHIP_TO, lines or [OrderLine("TSHIRT-M", 4), OrderLine("MUG", 3)],
                          carrier="UPSN", service="GROUND")
    document = build_940(order, US, numbers)
    drop.put_outgoing(document.filename(order_number), document.data)
    return document


def incoming_of(wh: X12Warehouse, drop: SftpDrop, kind: str, count: int = 1) -> list[str]:
    wh.wait_for(lambda: len([n for n in drop.list_incoming() if n.startswith(kind)]) >= count, 5)
    return [n for n in drop.list_incoming() if n.startswith(kind)]


# --------------------------------------------------------------------------- SftpDrop

def test_put_outgoing_is_atomic_and_the_warehouse_picks_the_file_up(warehouse, numbers):
    with drop_for(warehouse) as drop:
        document = send_order(drop, numbers)
    warehouse.wait_for(lambda: warehouse.received, 5)
    record = warehouse.received[0]
    assert record.data == document.data and record.kind == "940" and record.status == "accepted"
    writes = [o for o in warehouse.operations if o.op.startswith("open-write")]
    renames = [o for o in warehouse.operations if o.op in ("rename", "posix-rename")]
    assert [o.path for o in writes] == [f"/in/.{record.name}.part"]
    assert [(o.path, o.target) for o in renames] == [(f"/in/.{record.name}.part", f"/in/{record.name}")]
    assert warehouse.files("in") == []  # picked up and moved out of the drop


def test_list_read_archive_and_quarantine(warehouse):
    out = warehouse.local_path("/out")
    (out / "945_A.x12").write_text("first")
    (out / "945_B.x12").write_text("second")
    (out / ".945_C.x12.part").write_text("uploading")
    (out / "846_D.x12.tmp").write_text("uploading")
    (out / "sub").mkdir()
    with drop_for(warehouse) as drop:
        assert sorted(drop.list_incoming()) == ["945_A.x12", "945_B.x12"]
        assert drop.read("945_A.x12") == b"first"
        assert drop.archive("945_A.x12") == "/archive/945_A.x12"
        (out / "945_A.x12").write_text("resent")
        second = drop.archive("945_A.x12")
        assert second.startswith("/archive/945_A-") and second.endswith(".x12")
        path = drop.quarantine("945_B.x12", "segment 4 (W06) element 02: mandatory element W0602 is missing")
        assert path == "/quarantine/945_B.x12"
        assert sorted(drop.list_incoming()) == []
        with pytest.raises(ChannelNotFound):
            drop.read("945_A.x12")
    assert warehouse.read_file("945_A.x12", "archive") == "first"
    assert warehouse.read_file("945_B.x12", "quarantine") == "second"
    reason = warehouse.read_file("945_B.x12.reason.txt", "quarantine")
    assert reason == "segment 4 (W06) element 02: mandatory element W0602 is missing\n"
    with drop_for(warehouse) as drop:
        assert drop.read("945_B.x12", quarantined=True) == b"second"
        assert drop.archive_quarantined("945_B.x12") == "/archive/945_B.x12"
        with pytest.raises(ChannelNotFound):
            drop.archive_quarantined("945_B.x12")
    assert warehouse.files("quarantine") == []
    assert warehouse.read_file("945_B.x12", "archive") == "second"


def test_put_outgoing_never_replaces_an_existing_file(warehouse):
    with drop_for(warehouse, outgoing_dir="/archive") as drop:
        drop.put_outgoing("940_X.x12", b"original")
        with pytest.raises(ChannelValidationError, match="already exists"):
            drop.put_outgoing("940_X.x12", b"replacement")
        with pytest.raises(ChannelValidationError, match="not a plain file name"):
            drop.put_outgoing("../etc/passwd", b"x")
    assert warehouse.read_file("940_X.x12", "archive") == "original"
    assert warehouse.files("archive") == ["940_X.x12"]
    assert not list(warehouse.local_path("/archive").glob(".*"))  # no temporary file left behind


def test_authentication_and_host_key_errors(warehouse):
    with pytest.raises(ChannelAuthError, match="refused the credentials"):
        drop_for(warehouse, password="wrong").connect()
    port = warehouse.port
    warehouse.stop()
    with pytest.raises(ChannelTransportError, match="cannot connect"):
        SftpDrop("127.0.0.1", "depositor", port=port, password="x", host_key_fingerprint=warehouse.host_key_fingerprint,
                 timeout=2).connect()


def auth_attempts(wh: X12Warehouse) -> list:
    return [o for o in wh.operations if o.op.startswith("auth")]


def test_no_connection_without_a_known_host_key(warehouse):
    """A server whose host key is not known never sees a login, let alone the password."""
    for fingerprint in (None, "", "  "):
        with pytest.raises(ChannelAuthError, match="host key is not known: refusing to connect"):
            SftpDrop(warehouse.host, warehouse.username, port=warehouse.port, password=warehouse.password,
                     host_key_fingerprint=fingerprint, timeout=5).connect()
    assert auth_attempts(warehouse) == []


def test_a_mismatching_host_key_is_refused_before_authenticating(warehouse):
    wrong_key = "SHA256:" + "A" * 43
    with pytest.raises(ChannelAuthError) as refused:
        SftpDrop(warehouse.host, warehouse.username, port=warehouse.port, password=warehouse.password,
                 host_key_fingerprint=wrong_key, timeout=5).connect()
    message = str(refused.value)
    assert "does not match the configured fingerprint" in message
    assert warehouse.host_key_fingerprint in message and wrong_key in message
    assert auth_attempts(warehouse) == []


def test_fetch_host_key_reads_the_key_without_authenticating_then_a_trusted_key_connects(warehouse):
    offered = fetch_host_key(warehouse.host, warehouse.port, timeout=5)
    assert offered == HostKey("ssh-ed25519", warehouse.host_key_fingerprint)
    assert auth_attempts(warehouse) == []
    with drop_for(warehouse, host_key_fingerprint=offered.fingerprint) as drop:
        assert drop.list_incoming() == []
    assert [o.op for o in auth_attempts(warehouse)] == ["auth-begin", "auth-password"]


def test_the_demo_host_key_is_the_one_the_demo_backend_trusts():
    with X12Warehouse(host_key=demo_host_key()) as wh:
        assert wh.host_key_fingerprint == "SHA256:IkCaOBYd74xk0QpITib02ihN728aWGWnakcCee5unD0"
        assert fetch_host_key(wh.host, wh.port, timeout=5).fingerprint == wh.host_key_fingerprint


def test_private_key_authentication():
    key = asyncssh.generate_private_key("ssh-ed25519")
    public = key.export_public_key().decode()
    with X12Warehouse(password=None, client_keys=[public]) as wh:
        drop = SftpDrop(wh.host, wh.username, port=wh.port, private_key=key.export_private_key().decode(),
                        host_key_fingerprint=wh.host_key_fingerprint, timeout=5)
        with drop:
            assert drop.list_incoming() == []
        other = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
        with pytest.raises(ChannelAuthError):
            SftpDrop(wh.host, wh.username, port=wh.port, private_key=other,
                     host_key_fingerprint=wh.host_key_fingerprint, timeout=5).connect()


# --------------------------------------------------------------------------- the warehouse's answers

def test_940_is_acknowledged_then_shipped_partially_then_completely(numbers):
    with X12Warehouse(clock=CLOCK, auto_ship=0.05, ship_fraction=0.5, lots=True, serials=True) as wh:
        with drop_for(wh) as drop:
            sent = send_order(drop, numbers, "SO-1")
            [ack_name] = incoming_of(wh, drop, "997")
            report = parse_997(drop.read(ack_name))
            assert report.accepted == [sent.group_control]
            assert report.groups[0].transactions[0].control_number == sent.transaction_controls[0]
            [first_name] = incoming_of(wh, drop, "945")
            [first] = parse_945(drop.read(first_name))
            assert first.order_number == "SO-1" and first.ship_date == date(2025, 3, 4)
            assert [(ln.sku, ln.ordered, ln.shipped, ln.status) for ln in first.lines] == [
                ("TSHIRT-M", Decimal(4), Decimal(2), "CP"), ("MUG", Decimal(3), Decimal(1), "CP")]
            assert first.partial and first.carrier == "UPSN" and first.tracking
            assert first.lines[0].lot and len(first.lines[0].serials) == 2
            assert first.lines[0].packages[0].sscc and first.lines[0].packages[0].tracking == first.tracking
            drop.archive(first_name)
            wh.ship("SO-1")  # the balance
            [second_name] = incoming_of(wh, drop, "945")
            [second] = parse_945(drop.read(second_name))
            # W12-02 keeps the quantity ordered; the status says the order line is now complete
            assert [(ln.ordered, ln.shipped, ln.status) for ln in second.lines] == [
                (Decimal(4), Decimal(2), "CC"), (Decimal(3), Decimal(2), "CC")]
            assert [a.shipped + b.shipped for a, b in zip(first.lines, second.lines, strict=True)] == [4, 3]
            with pytest.raises(ValueError, match="nothing to ship"):
                wh.ship("SO-1")


def test_shipping_is_limited_by_stock_and_explicit_quantities(numbers):
    with X12Warehouse(stock={"TSHIRT-M": 1}) as wh:
        with drop_for(wh) as drop:
            send_order(drop, numbers, "SO-2")
            wh.wait_for(lambda: "SO-2" in wh.orders)
            name = wh.ship("SO-2", {"TSHIRT-M": 3, "MUG": 2}, tracking="TRACK-1", lots={"MUG": "LOT-M"})
            [advice] = parse_945(drop.read(name))
    assert [(ln.sku, ln.shipped, ln.lot) for ln in advice.lines] == [("TSHIRT-M", 1, ""), ("MUG", 2, "LOT-M")]
    assert advice.tracking == "TRACK-1" and wh.stock["TSHIRT-M"] == 0


def test_malformed_940_gets_a_rejecting_997(warehouse, numbers):
    order = ShippingOrder("SO-9", SHIP_TO, [OrderLine("TSHIRT-M", 4)])
    text = build_940(order, US, numbers).text.replace("W01*4*", "W01*four*")
    bad_count = build_940(ShippingOrder("SO-10", SHIP_TO, [OrderLine("MUG", 1)]), US, numbers).text
    bad_count = bad_count.replace("SE*9*", "SE*8*")
    with drop_for(warehouse) as drop:
        drop.put_outgoing("940_SO-9.x12", text)
        drop.put_outgoing("940_SO-10.x12", bad_count)
        names = incoming_of(warehouse, drop, "997", 2)
        reports = [parse_997(drop.read(n)) for n in names]
    by_group = {r.groups[0].group_control: r.groups[0] for r in reports}
    content, count = by_group["100"], by_group["101"]
    assert content.rejected and content.transactions[0].codes == ["5"]
    assert "(W01) element 1: invalid character in data element ('four')" in content.describe()
    assert count.rejected and count.transactions[0].codes == ["4"]
    assert warehouse.orders == {}
    with pytest.raises(KeyError):
        warehouse.ship("SO-9")


def test_transfer_is_acknowledged_received_with_damage_and_reported_in_inventory(numbers):
    with X12Warehouse(clock=CLOCK, auto_receive=0.05, damage_rate=0.1, stock={"MUG": 5}) as wh:
        with drop_for(wh) as drop:
            shipment = StockTransferShipment("PO-7", date(2025, 3, 10), [TransferLine("TSHIRT-M", 20),
                                                                          TransferLine("MUG", 10, lot="L-1")],
                                             ship_from=Address("Acme Supply"), carrier="FDEG")
            sent = build_943(shipment, US, numbers)
            drop.put_outgoing(sent.filename("PO-7"), sent.data)
            [ack] = incoming_of(wh, drop, "997")
            assert parse_997(drop.read(ack)).accepted == [sent.group_control]
            [receipt_name] = incoming_of(wh, drop, "944")
            [receipt] = parse_944(drop.read(receipt_name))
            assert receipt.reference == "PO-7" and receipt.received_date == date(2025, 3, 4)
            assert [(ln.sku, ln.received, ln.damaged, ln.lot) for ln in receipt.lines] == [
                ("TSHIRT-M", 20, 2, ""), ("MUG", 10, 1, "L-1")]
            [inventory] = parse_846(drop.read(wh.publish_inventory()))
    assert inventory.snapshot == datetime(2025, 3, 4, 9, 30)
    assert inventory.warehouse_id == wh.warehouse_id
    mug, shirt = inventory.item("MUG"), inventory.item("TSHIRT-M")
    assert (shirt.on_hand, shirt.available, shirt.damaged) == (20, 18, 2)
    assert (mug.on_hand, mug.available, mug.damaged) == (15, 14, 1)


def test_the_warehouse_records_our_997_for_its_945(warehouse, numbers):
    with drop_for(warehouse) as drop:
        send_order(drop, numbers, "SO-3")
        warehouse.wait_for(lambda: "SO-3" in warehouse.orders)
        name = warehouse.ship("SO-3")
        ack = build_997(parse_interchange(drop.read(name)), US, numbers)
        drop.put_outgoing(ack.filename(), ack.data)
        group = warehouse.written_of("945")[0].groups[0]
        warehouse.wait_for(lambda: group in warehouse.acks_received)
        warehouse.process_incoming()  # waits for the pick-up in progress to finish
    assert warehouse.acks_received[group] == "A"
    assert warehouse.received[-1].kind == "997" and warehouse.received[-1].status == "acknowledgment"
    assert len(warehouse.written_of("997")) == 1  # an acknowledgment is never acknowledged


# --------------------------------------------------------------------------- faults

def test_missing_acknowledgment_fault(warehouse, numbers):
    warehouse.inject("no_ack")
    with drop_for(warehouse) as drop:
        send_order(drop, numbers, "SO-4")
        warehouse.wait_for(lambda: "SO-4" in warehouse.orders)
        send_order(drop, numbers, "SO-5")
        incoming_of(warehouse, drop, "997")
        acks = [parse_997(drop.read(n)) for n in drop.list_incoming() if n.startswith("997")]
    assert [a.groups[0].group_control for a in acks] == ["101"]  # SO-4's group 100 was never acknowledged
    assert warehouse.received[0].faults == ("no_ack",) and warehouse.pending_faults == []


def test_duplicate_fault_writes_the_same_945_twice(warehouse, numbers):
    warehouse.inject("duplicate")
    with drop_for(warehouse) as drop:
        send_order(drop, numbers, "SO-6")
        warehouse.wait_for(lambda: "SO-6" in warehouse.orders)
        warehouse.ship("SO-6")
        names = incoming_of(warehouse, drop, "945", 2)
        contents = [drop.read(n) for n in names]
    assert len(set(names)) == 2 and contents[0] == contents[1]
    first, second = (read_interchange(c) for c in contents)
    assert first.control_number == second.control_number  # the connector must deduplicate on it


@pytest.mark.parametrize("fault, expected", [
    ("bad_segment_count", r"segment \d+ \(SE\) element 01: SE01 says \d+ segments, the transaction set has \d+"),
    ("bad_group_count", r"\(GE\) element 01: GE01 says '2' transaction sets, group \d+ has 1"),
    ("bad_control_number", r"\(IEA\) element 02: IEA02 '\d{9}' does not match the interchange control number"),
    ("missing_element", r"segment \d+ \(W12\) element 01: mandatory element W1201 is missing"),
    ("truncated_isa", r"segment 1 \(ISA\) element 06: ISA06 is 7 characters wide, 15 expected"),
])
def test_malformed_945_is_refused_with_a_readable_reason_and_quarantined(warehouse, numbers, fault, expected):
    warehouse.inject(fault)
    with drop_for(warehouse) as drop:
        send_order(drop, numbers, "SO-7")
        warehouse.wait_for(lambda: "SO-7" in warehouse.orders)
        name = warehouse.ship("SO-7")
        data = drop.read(name)
        with pytest.raises(X12Error) as caught:
            read_documents(data)
        assert caught.value.problems
        reason = str(caught.value)
        drop.quarantine(name, reason)
        ack = parse_997(build_997(parse_interchange(data), US, numbers).text)
    assert ack.rejected == [warehouse.written_of("945")[0].groups[0]]
    assert _search(expected, reason)
    assert _search(expected, warehouse.read_file(name + ".reason.txt", "quarantine"))
    assert fault in FAULTS


def _search(pattern, text):
    import re

    return re.search(pattern, text)


def test_malformed_fault_can_target_acknowledgments(warehouse, numbers):
    warehouse.inject("bad_segment_count", kinds=("997",))
    with drop_for(warehouse) as drop:
        send_order(drop, numbers, "SO-8")
        [name] = incoming_of(warehouse, drop, "997")
        with pytest.raises(X12Error, match="SE01 says"):
            parse_997(drop.read(name))


def test_simulator_rejects_a_file_it_cannot_read(warehouse):
    warehouse.put_incoming("940_junk.x12", "this is not EDI")
    warehouse.process_incoming()
    record = warehouse.wait_for(lambda: warehouse.received)[0]
    assert record.status == "unreadable" and warehouse.written == []
    with pytest.raises(ValueError, match="unknown fault"):
        warehouse.inject("slow_disk")


def test_simulator_reader_and_writer_agree_with_each_other():
    body = [["W06", "F", "SO-1", "20250304"], ["N1", "ST", "Jane Doe"], ["LX", "1"],
            ["W12", "CC", "1", "1", "0", "EA", "", "SK", "MUG"], ["W03", "1"]]
    text = write_x12("3PLWHSE", "RETAILCO", "945", [body], icn=7, gcn=8, first_st=9, when=datetime(2025, 3, 4, 9, 30),
                     separators=("|", "^", "\n"), newline=False)
    parsed = read_x12(text)
    assert not parsed.problems and parsed.separators == ("|", "^", "\n")
    [group] = parsed.groups
    assert group["gs"][6] == "8" and group["ge"] == ["GE", "1", "8"]
    assert group["transactions"][0]["st"] == ["ST", "945", "0009"] and group["transactions"][0]["se"][1] == "7"
    assert isinstance(parse_945(text)[0], ShippingAdvice)  # and the product reads it too


@pytest.mark.parametrize("version", ["004010", "005010"])
def test_n1_slip_fault_is_noted_by_a_lenient_reader_and_refused_by_a_strict_one(numbers, version):
    with X12Warehouse(clock=CLOCK, poll_interval=0.02, version=version) as wh, drop_for(wh) as drop:
        wh.inject("n1_without_name")
        send_order(drop, numbers, "SO-9")
        wh.wait_for(lambda: "SO-9" in wh.orders)
        data = drop.read(wh.ship("SO-9", tracking="1ZSLIP")).decode()
    assert "~\nN1*SF***3PLWHSE~" in data
    interchange, [advice], assessment = read_with_policy(data, ValidationPolicy("lenient"))
    assert interchange.groups[0].version == version
    assert (advice.order_number, advice.tracking, advice.total_shipped) == ("SO-9", "1ZSLIP", Decimal(7))
    assert assessment.keys() == ["945:N1:02:2", "945:N1:03:2"]
    with pytest.raises(X12Error, match=r"\(N1\) element 02: at least one of N102, N103 is required"):
        read_documents(data, ValidationPolicy("strict"))
    assert wh.pending_faults == []


def test_a_test_interchange_is_acknowledged_but_nothing_ships(warehouse, numbers):
    order = ShippingOrder("TEST-1", SHIP_TO, [OrderLine("MUG", 1)])
    document = build_940(order, Envelope("RETAILCO", "3PLWHSE", usage="T", version="005010"), numbers)
    with drop_for(warehouse) as drop:
        drop.put_outgoing(document.filename("TEST-1"), document.data)
        [name] = incoming_of(warehouse, drop, "997")
        report = parse_997(drop.read(name))
    assert report.accepted == [document.group_control]
    assert warehouse.test_interchanges == [document.interchange_control]
    assert "TEST-1" not in warehouse.orders
