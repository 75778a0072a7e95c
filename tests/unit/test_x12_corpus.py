"""Published sample interchanges (tests/unit/data/x12, sources in its README) read by the X12 layer.

Each file is read with the values its source shows, in 004010 and 005010; the syntax slips
real partners make are noted under a lenient policy and refuse the file under a strict one,
while broken envelopes and control numbers refuse it under both. The writer's 940, 943 and
997 are compared with the same samples' segment order and element positions.
"""

from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from retail_connector_wms_lib.x12 import (
    Address,
    Envelope,
    InMemoryControlNumbers,
    OrderLine,
    ShippingOrder,
    StockTransferShipment,
    TransferLine,
    ValidationPolicy,
    X12Error,
    build_940,
    build_943,
    build_997,
    parse_997,
    parse_interchange,
    read_documents,
    read_with_policy,
    tokenize,
)

DATA = Path(__file__).parent / "data" / "x12"
LENIENT = ValidationPolicy("lenient")
STRICT = ValidationPolicy("strict")
NOW = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)


def sample(name):
    return (DATA / name).read_text()


def northpoint_945(version="005010"):
    """The 945 as published, with its segment count (SE01 12 for 16 segments) corrected."""
    return sample(f"945_{version}_northpoint.x12").replace("SE*12*000006123~", "SE*16*000006123~")


def ids(text):
    return [segment.id for segment in tokenize(text).segments]


def test_every_sample_is_listed_with_its_source():
    readme = (DATA / "README.md").read_text()
    files = sorted(p.name for p in DATA.glob("*.x12"))
    assert len(files) >= 9
    for name in files:
        assert f"`{name}`" in readme, f"{name} has no source in the corpus README"


# ----------------------------------------------------------------- 940 (004010)

def test_babelway_940_reads_right_under_a_lenient_policy_with_its_slips_noted():
    interchange, [order], assessment = read_with_policy(sample("940_004010_babelway.x12"), LENIENT)
    assert interchange.version == "00401" and interchange.groups[0].version == "004010"
    assert (order.order_number, order.purchase_order, order.status) == ("0080215659", "4000207344", "N")
    assert order.ship_to.name == "Atlanta Technology"
    assert (order.ship_to.city, order.ship_to.zip, order.ship_to.country) == ("Chicago", "100096", "CN")
    assert order.ship_from.name == "American Company, Inc."
    assert [(line.sku, line.quantity, line.uom, line.sku_qualifier) for line in order.lines] == [
        ("E000169", Decimal("2"), "PC", "VN")]
    assert order.lines[0].description == "ET1929LM-7BOO-1-WH-G"
    assert order.requested_ship_date == date(2018, 3, 28)
    keys = assessment.keys()
    assert "940:N4:02:5" in keys, "N402 '020' is 3 characters, ID 2/2"
    assert "940:N2::5" in keys, "two N2 in one N1 loop"
    assert "940:G61:04:2" in keys, "G6103 without G6104 (P0304)"
    assert not assessment.refused


def test_babelway_940_is_refused_by_a_strict_policy_naming_segment_and_element():
    with pytest.raises(X12Error) as caught:
        read_documents(sample("940_004010_babelway.x12"), STRICT)
    reason = caught.value.reason
    assert "segment 7 (N4) element 02: '020' is too long" in reason
    assert "segment 22 (G61) element 04" in reason


def test_a_strict_partner_that_accepted_these_slips_reads_the_babelway_940():
    _, _, assessment = read_with_policy(sample("940_004010_babelway.x12"), LENIENT)
    accepted = ValidationPolicy("strict", frozenset(assessment.keys()))
    _, [order], again = read_with_policy(sample("940_004010_babelway.x12"), accepted)
    assert order.order_number == "0080215659"
    assert again.new_keys() == []


def test_1edisource_940_broken_envelope_is_refused_under_any_policy():
    for policy in (LENIENT, STRICT):
        with pytest.raises(X12Error) as caught:
            read_documents(sample("940_004010_1edisource.x12"), policy)
        reason = caught.value.reason
        assert "interchange version '00400' is not supported" in reason
        assert "GE02 '575103' does not match the group control number GS06 '3317'" in reason
        assert "IEA02 '3317     ' does not match the interchange control number ISA13 '000003438'" in reason


# ----------------------------------------------------------------- 945 (004010, 005010)

def test_northpoint_945_as_published_is_refused_for_its_segment_count_under_any_policy():
    for name in ("945_004010_northpoint.x12", "945_005010_northpoint.x12"):
        with pytest.raises(X12Error, match="SE01 says 12 segments, the transaction set has 16"):
            read_documents(sample(name), LENIENT)
    with pytest.raises(X12Error, match="ISA06 is 13 characters wide, 15 expected"):
        read_documents(sample("945_004010_northpoint.x12"), LENIENT)


def test_northpoint_945_reads_right_in_005010_with_the_n1_slip_noted():
    interchange, [advice], assessment = read_with_policy(northpoint_945(), LENIENT)
    assert interchange.version == "00501" and interchange.groups[0].version == "005010"
    assert (advice.order_number, advice.ship_date, advice.purchase_order) == ("IF102", date(2019, 6, 4), "PO9865")
    assert (advice.shipment_id, advice.carrier, advice.transport_method) == ("BOL12345", "NPLT", "M")
    assert advice.routing == "NORTHPOINT TRANSPOR"
    assert advice.ship_to.name == "CUSTOMER XYZ" and advice.ship_to.zip == "66216-4563"
    assert advice.ship_from.code == "CHI" and advice.ship_from.name == ""
    [line] = advice.lines
    assert (line.sku, line.shipped, line.ordered, line.uom, line.lot, line.status) == (
        "123456789", Decimal("3000"), Decimal("3000"), "EA", "LOT12314", "CC")
    assert line.line_number == 10
    assert (advice.weight, advice.weight_unit) == (Decimal("15000"), "LB")
    assert assessment.keys() == ["945:N1:02:2", "945:N1:03:2"]
    assert "segment 8 (N1) element 02: at least one of N102, N103 is required" in assessment.describe()


def test_northpoint_945_is_refused_by_a_strict_partner_naming_the_n1():
    with pytest.raises(X12Error) as caught:
        read_documents(northpoint_945(), STRICT)
    assert "segment 8 (N1) element 02: at least one of N102, N103 is required" in caught.value.reason


def test_lenient_997_of_the_northpoint_945_accepts_it_with_errors_noted():
    interchange = parse_interchange(northpoint_945())
    ack = build_997(interchange, Envelope("RECEIVER", "SENDER", version="005010"), InMemoryControlNumbers(), NOW,
                    policy=LENIENT)
    body = [s for s in ack.text.split("~") if s[:3] in ("AK1", "AK2", "AK3", "AK4", "AK5", "AK9")]
    assert body == ["AK1*SW*000000123", "AK2*945*000006123", "AK3*N1*6**8", "AK4*2**2", "AK4*3**2", "AK5*E*5",
                    "AK9*E*1*1*1"]
    assert "GS*FA*RECEIVER*SENDER*20240501*0930*1*X*005010" in ack.text
    strict = build_997(interchange, Envelope("RECEIVER", "SENDER"), InMemoryControlNumbers(), NOW)
    assert "AK5*R*5" in strict.text and "AK9*R*1*1*0" in strict.text
    report = parse_997(ack.text)
    assert report.accepted == ["000000123"] and report.groups[0].status == "E"
    assert "segment 6 (N1) element 2: conditional required data element missing" in report.groups[0].describe()


# ----------------------------------------------------------------- 846 / 943 (005010)

def test_x12types_846_reads_right_in_005010():
    interchange, [advice], assessment = read_with_policy(sample("846_005010_x12types.x12"), STRICT)
    assert interchange.groups[0].version == "005010" and not assessment.noted
    assert (advice.reference, advice.snapshot.date(), advice.report_type) == ("REF1", date(2020, 1, 1), "SI")
    [item] = advice.items
    assert (item.sku, item.sku_qualifier, item.available, item.on_hand, item.uom) == (
        "ABC123", "VN", Decimal("100"), None, "EA")


def test_x12types_943_broken_group_envelope_is_refused_under_any_policy():
    with pytest.raises(X12Error) as caught:
        read_documents(sample("943_005010_x12types.x12"), LENIENT)
    reason = caught.value.reason
    assert "segment 2 (GS) element 02: 'S' is too short" in reason
    assert "SE01 says 6 segments, the transaction set has 7" in reason


# ----------------------------------------------------------------- 997 (004010, 005010)

def test_boomi_997_reads_the_rejected_850_with_each_element_named():
    report = parse_997(sample("997_004010_boomi_rejected.x12"))
    [group] = report.groups
    assert (group.functional_id, group.group_control, group.status) == ("PO", "2", "R")
    assert (group.included, group.received, group.accepted_count) == (1, 1, 0)
    [transaction] = group.transactions
    assert (transaction.transaction_id, transaction.control_number, transaction.status) == ("850", "103465910", "R")
    assert transaction.codes == ["4", "5"]
    assert transaction.errors == ["segment 3 (REF) element 1: invalid code value ('BM')",
                                  "segment 4 (REF) element 1: invalid code value ('DP')"]
    assert report.rejected == ["2"]


def test_sap_and_x12types_997s_read_as_accepted_in_both_releases():
    sap = parse_997(sample("997_004010_sap_accepted.x12"))
    assert sap.accepted == ["000341217"] and sap.group(341217).accepted_count == 1
    v5010 = parse_997(sample("997_005010_x12types.x12"))
    assert v5010.accepted == ["17456"]
    assert [(t.transaction_id, t.control_number, t.status) for t in v5010.groups[0].transactions] == [
        ("837", "0001", "A")]


# ----------------------------------------------------------------- the writer against the guides

def _order():
    return ShippingOrder(order_number="SO-1001", purchase_order="PO-77", requested_ship_date=date(2024, 5, 2),
                         ship_to=Address(name="Atlanta Technology", street="No 27 Huangping Road", city="Chicago",
                                         state="IL", zip="60601", country="US"),
                         carrier="UPSN", service="GROUND", notes="Call before delivery",
                         lines=[OrderLine(sku="E000169", quantity=Decimal(2), uom="PC", sku_qualifier="VN",
                                          description="ET1929LM")])


def _in_guide_order(ours, guide):
    """Return whether each two segments we write one after the other appear in that order in the guide.

    Segments the guide does not use are skipped; loops repeat, so ``a`` before ``b`` means
    some ``a`` of the guide comes before some ``b``.
    """
    shared = [segment_id for segment_id in ours if segment_id in guide]
    for first, second in zip(shared, shared[1:]):
        if first != second and guide.index(first) > max(i for i, s in enumerate(guide) if s == second):
            return False
    return True


@pytest.mark.parametrize("version", ["004010", "005010"])
def test_our_940_follows_the_segment_order_and_element_positions_of_the_published_940s(version):
    document = build_940(_order(), Envelope("RETAILCO", "3PLWHSE", version=version), InMemoryControlNumbers(), NOW)
    for guide in ("940_004010_babelway.x12", "940_004010_1edisource.x12"):
        assert _in_guide_order(ids(document.text), ids(sample(guide))), (guide, ids(document.text))
        assert not _in_guide_order(["W76", "W05"], ids(sample(guide))), "the comparison can fail"
    assert {"W05", "N1", "N3", "N4", "G62", "NTE", "W66", "LX", "W01", "G69", "W76"} <= set(ids(document.text))
    segments, guide = {}, {}
    for found, text in ((segments, document.text), (guide, sample("940_004010_babelway.x12"))):
        for segment in tokenize(text).segments:
            found.setdefault(segment.id, segment)
    # W05-02 order number, W05-03 PO; W01-01 quantity, 02 unit, 04 qualifier, 05 item; G62*10 ship date
    assert (segments["W05"][1], segments["W05"][2], segments["W05"][3]) == ("N", "SO-1001", "PO-77")
    assert (guide["W05"][1], guide["W05"][2], guide["W05"][3]) == ("N", "0080215659", "4000207344")
    assert [segments["W01"][n] for n in (1, 2, 4, 5)] == ["2", "PC", "VN", "E000169"]
    assert [guide["W01"][n] for n in (1, 2, 4, 5)] == ["2", "PC", "VN", "E000169"]
    assert segments["G62"][1] == guide["G62"][1] == "10"
    assert segments["W76"][1] == guide["W76"][1] == "2"
    release = {"004010": ("U", "00401"), "005010": ("^", "00501")}[version]
    isa = tokenize(document.text).segments[0]
    assert (isa[11], isa[12]) == release
    assert tokenize(document.text).segments[1][8] == version
    assert read_documents(document.text, STRICT)[1][0].order_number == "SO-1001"


def test_our_943_follows_the_layout_of_the_published_943():
    shipment = StockTransferShipment(reference="RCPT-1", expected_date=date(2024, 5, 3), carrier="SCAC",
                                     ship_from=Address(name="Supplier"), purchase_order="PO-1",
                                     lines=[TransferLine(sku="012345678905", quantity=Decimal(10))])
    document = build_943(shipment, Envelope("RETAILCO", "3PLWHSE", version="005010"), InMemoryControlNumbers(), NOW)
    ours = [i for i in ids(document.text) if i not in ("ISA", "GS", "ST", "SE", "GE", "IEA")]
    guide = [i for i in ids(sample("943_005010_x12types.x12")) if i not in ("ISA", "GS", "ST", "SE", "GE", "IEA")]
    assert [i for i in ours if i in guide] == [i for i in guide if i in ours]
    assert {"W06", "N1", "W27", "W04", "W03"} <= set(ours)
    w04 = next(s for s in tokenize(document.text).segments if s.id == "W04")
    assert (w04[1], w04[2]) == ("10", "EA"), "W04-01 quantity, W04-02 unit, as in the guide's W04*10*EA"
    assert read_documents(document.text, STRICT)[1][0].lines[0].quantity == Decimal(10)


def test_our_997_has_the_structure_of_boomis_rejection():
    rejected = sample("997_004010_boomi_rejected.x12").replace("~", "~\n")
    text = sample("940_004010_babelway.x12")
    ack = build_997(parse_interchange(text), Envelope("3PLWHSE", "BIGETP"), InMemoryControlNumbers(), NOW)
    ours = [i for i in ids(ack.text) if i.startswith("AK")]
    theirs = [i for i in ids(rejected) if i.startswith("AK")]
    assert ours[0] == theirs[0] == "AK1" and ours[-1] == theirs[-1] == "AK9"
    assert ours[:4] == theirs[:4] == ["AK1", "AK2", "AK3", "AK4"]
    assert ours[-2] == theirs[-2] == "AK5"
    ak3 = next(s for s in tokenize(ack.text).segments if s.id == "AK3")
    assert (ak3[1], ak3[2], ak3[4]) == ("N4", "5", "8"), "segment id, position in the set, code: as Boomi's AK3*REF*3**8"
