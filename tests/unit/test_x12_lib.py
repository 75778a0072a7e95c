"""Tests of the X12 protocol layer of the warehouse connector (tokenizer, envelopes, documents, 997).

Every document type is built, read back and compared; envelope and segment errors are
checked for the reason they give (segment position, segment id, element number) and for the
997 codes they lead to.
"""

import re
from datetime import date, datetime
from decimal import Decimal

import pytest

from retail_connector_wms_lib.x12 import (
    Address,
    Envelope,
    InMemoryControlNumbers,
    InventoryAdvice,
    InventoryItem,
    OrderLine,
    Package,
    ReceivedLine,
    Separators,
    ShippedLine,
    ShippingAdvice,
    ShippingOrder,
    StockTransferReceipt,
    StockTransferShipment,
    TransferLine,
    X12Error,
    build_846,
    build_940,
    build_943,
    build_944,
    build_945,
    build_997,
    build_interchange,
    parse_846,
    parse_940,
    parse_943,
    parse_944,
    parse_945,
    parse_997,
    parse_interchange,
    read_documents,
    read_interchange,
    shipping_order_segments,
    tokenize,
)

NOW = datetime(2025, 3, 1, 14, 30)
US = Envelope("RETAILCO", "3PLWHSE")
THEM = Envelope("3PLWHSE", "RETAILCO")
SHIP_TO = Address("Jane Doe", "969 Market St", "Suite 2", "San Francisco", "CA", "94103", "US", code="C-17")


def numbers():
    return InMemoryControlNumbers()


def order(**changes) -> ShippingOrder:
    values = dict(
        order_number="SO-1001", ship_to=SHIP_TO, purchase_order="PO-77",
        lines=[OrderLine("TSHIRT-M", Decimal("2"), 1, description="Retail Connector T-shirt (M)"),
               OrderLine("MUG", Decimal("1.5"), 2, uom="CA", sku_qualifier="VN")],
        requested_ship_date=date(2025, 3, 3), requested_delivery_date=date(2025, 3, 6), carrier="UPSN",
        service="UPS GROUND", ship_from=Address("Retail Connector Store", city="Chicago", state="IL"),
        notes=" ".join(["Leave at the back door."] * 6), references={"CO": "WEB-1001", "IA": "VENDOR-9"},
    )
    values.update(changes)
    return ShippingOrder(**values)


def segments(text: str) -> list[str]:
    return [s.strip() for s in text.split("~") if s.strip()]


def replace_segment(text: str, prefix: str, new: str, occurrence: int = 0) -> str:
    parts = segments(text)
    matches = [i for i, s in enumerate(parts) if s.startswith(prefix)]
    parts[matches[occurrence]] = new
    return "~".join(parts) + "~"


def drop_segment(text: str, prefix: str) -> str:
    parts = [s for s in segments(text) if not s.startswith(prefix)]
    return "~".join(parts) + "~"


# --------------------------------------------------------------------------- round trips

def test_940_round_trip_keeps_every_field():
    sent = order()
    document = build_940(sent, US, numbers(), NOW)
    [received] = parse_940(document.text)
    assert received == sent
    assert received.total_quantity == Decimal("3.5")
    text = document.text
    assert "W05*N*SO-1001*PO-77~" in text
    assert "N1*ST*Jane Doe*92*C-17~" in text
    assert "W66*PP*U***UPS GROUND*****UPSN~" in text
    assert "W01*1.5*CA**VN*MUG~" in text
    assert "G62*10*20250303~" in text and "G62*02*20250306~" in text
    assert text.count("NTE*WHI*") == 2  # 150 characters of notes make two 80-character notes
    assert "W76*3.5~" in text


def test_945_round_trip_with_partial_line_lots_serials_and_cartons():
    sent = ShippingAdvice(
        order_number="SO-1001", ship_date=date(2025, 3, 4), shipment_id="SHP-88", purchase_order="PO-77",
        carrier="UPSN", routing="GROUND", tracking="1Z999AA10123456784", bill_of_lading="BOL-5", ship_to=SHIP_TO,
        weight=Decimal("4.25"),
        lines=[
            ShippedLine("TSHIRT-M", Decimal(1), Decimal(2), lot="LOT-2025-03", serials=["SN1"],
                        packages=[Package("1Z999AA10123456784", "00003456789012345675")]),
            ShippedLine("MUG", Decimal("1.5"), Decimal("1.5"), packages=[Package(tracking="1Z999AA10123456795")]),
        ])
    document = build_945(sent, THEM, numbers(), NOW)
    [received] = parse_945(document.text)
    assert received == sent
    assert received.lines[0].status == "CP" and received.lines[1].status == "CC"
    assert received.partial
    assert received.tracking_numbers == ["1Z999AA10123456784", "1Z999AA10123456795"]
    assert received.control_number == document.transaction_controls[0]
    assert "W12*CP*2*1*1*EA**SK*TSHIRT-M~" in document.text
    assert "MAN*GM*00003456789012345675**CP*1Z999AA10123456784~" in document.text
    assert "N9*LT*LOT-2025-03~" in document.text and "N9*SE*SN1~" in document.text
    assert "W03*2.5*4.25*LB~" in document.text


def test_943_round_trip():
    sent = StockTransferShipment(
        reference="PO-2001", expected_date=date(2025, 3, 10), ship_date=date(2025, 3, 5), shipment_id="ASN-1",
        purchase_order="PO-2001", ship_from=Address("Acme Supply", "1 Dock Rd", city="Reno", state="NV"),
        warehouse=Address("3PL Main", code="WH1", code_qualifier="91"), carrier="FDEG", routing="LTL",
        lines=[TransferLine("TSHIRT-M", Decimal(100), lot="L-77", description="T-shirts"),
               TransferLine("MUG", Decimal(24), uom="CA")])
    document = build_943(sent, US, numbers(), NOW)
    [received] = parse_943(document.text)
    assert received == sent
    assert document.functional_id == "AR"
    assert "G62*17*20250310~" in document.text and "W03*124~" in document.text


def test_944_round_trip_with_damaged_and_short_quantities():
    sent = StockTransferReceipt(
        reference="PO-2001", received_date=date(2025, 3, 11), receipt_number="RCV-9", shipment_id="ASN-1",
        warehouse=Address("3PL Main", code="WH1", code_qualifier="91"),
        lines=[ReceivedLine("TSHIRT-M", Decimal(100), Decimal(3), lot="L-77", damage_reason="CC"),
               ReceivedLine("MUG", Decimal(20), lot="A-VERY-LONG-LOT-NUMBER", exceptions={"02": Decimal(4)})])
    document = build_944(sent, THEM, numbers(), NOW)
    [received] = parse_944(document.text)
    assert received == sent
    assert received.lines[0].good == Decimal(97)
    assert received.total_received == Decimal(120) and received.total_damaged == Decimal(3)
    assert "W13*3*EA*01*L-77*CC~" in document.text
    assert "N9*LT*A-VERY-LONG-LOT-NUMBER~" in document.text  # longer than W07-08 allows
    assert "W14*120~" in document.text


def test_846_round_trip_uses_x12_quantity_qualifiers():
    sent = InventoryAdvice(
        reference="INV-20250312", snapshot=datetime(2025, 3, 12, 6, 30, 15), warehouse_id="WH1",
        warehouse_name="3PL Main",
        items=[InventoryItem("TSHIRT-M", Decimal(120), Decimal(110), Decimal(10)),
               InventoryItem("MUG", Decimal(0), Decimal(0), uom="CA", other={"02": Decimal(7)})])
    document = build_846(sent, THEM, numbers(), NOW)
    [received] = parse_846(document.text)
    assert received == sent
    assert received.item("TSHIRT-M").available == Decimal(110)
    lines = segments(document.text)
    assert "QTY*17*120*EA" in lines and "QTY*33*110*EA" in lines and "QTY*20*10*EA" in lines
    assert "BIA*00*MB*INV-20250312*20250312*063015" in lines and "CTT*2" in lines


def test_997_acceptance_round_trip():
    sent = build_940(order(), US, numbers(), NOW)
    received = parse_interchange(sent.text)
    assert received.valid
    ack = build_997(received, THEM, InMemoryControlNumbers(500), NOW)
    assert ack.functional_id == "FA"
    assert f"AK1*OW*{sent.group_control}~" in ack.text
    assert f"AK2*940*{sent.transaction_controls[0]}~" in ack.text
    assert "AK5*A~" in ack.text and "AK9*A*1*1*1~" in ack.text
    report = parse_997(ack.text)
    assert report.accepted == [sent.group_control] and report.rejected == []
    assert report.group(int(sent.group_control)).transactions[0].accepted


def test_997_rejection_names_segments_and_elements():
    text = build_940(order(), US, numbers(), NOW).text
    text = replace_segment(text, "W01*1.5", "W01*abc*CA**VN*MUG")
    text = replace_segment(text, "W05", "W05*N")
    received = parse_interchange(text)
    positions = {p.segment_id: p.transaction_position for p in received.all_problems()}
    ack = build_997(received, THEM, numbers(), NOW)
    assert f"AK3*W05*{positions['W05']}**8~AK4*2**1~" in ack.text
    assert f"AK3*W01*{positions['W01']}**8~AK4*1**6*abc~" in ack.text
    assert "AK5*R*5~" in ack.text and "AK9*R*1*1*0~" in ack.text
    report = parse_997(ack.text)
    assert report.rejected == ["1"] and report.accepted == []
    group = report.groups[0]
    assert group.transactions[0].status == "R"
    described = group.describe()
    assert "one or more segments in error" in described
    assert "(W01) element 1: invalid character in data element ('abc')" in described
    assert "(W05) element 2: mandatory data element missing" in described


def test_997_partial_acceptance_of_a_group():
    good, bad = order(order_number="SO-1"), order(order_number="SO-2")
    text = build_940([good, bad], US, numbers(), NOW).text
    text = replace_segment(text, "SE*", "SE*99*0002", occurrence=1)
    received = parse_interchange(text)
    ack = build_997(received, THEM, numbers(), NOW)
    assert "AK5*R*4~" in ack.text and "AK9*P*2*2*1~" in ack.text
    report = parse_997(ack.text)
    assert report.partially_accepted == ["1"]
    assert not report.groups[0].accepted and not report.groups[0].rejected
    assert [t.accepted for t in report.groups[0].transactions] == [True, False]


def test_997_rejects_every_group_when_the_interchange_envelope_is_broken():
    text = build_940(order(), US, numbers(), NOW).text.replace("IEA*1*000000001", "IEA*1*000000009")
    received = parse_interchange(text)
    assert received.problems and all(not t.problems for _, t in received.transactions())
    ack = build_997(received, THEM, numbers(), NOW)
    assert "AK5*A~" in ack.text and "AK9*R*1*1*0~" in ack.text
    assert parse_997(ack.text).rejected == ["1"]


# --------------------------------------------------------------------------- envelope validation

def _problem(text, **expected):
    problems = parse_interchange(text).all_problems()
    matching = [p for p in problems if all(getattr(p, k) == v for k, v in expected.items())]
    assert matching, f"no problem with {expected} among: {[str(p) for p in problems]}"
    return matching[0]


@pytest.fixture
def valid_940():
    return build_940(order(), US, numbers(), NOW).text


def test_segment_count_mismatch(valid_940):
    text = valid_940.replace("SE*21*0001", "SE*20*0001")
    problem = _problem(text, segment_id="SE", element=1)
    assert problem.code == "4" and problem.position == 23
    assert str(problem) == "segment 23 (SE) element 01: SE01 says 20 segments, the transaction set has 21 (ST to SE)"


def test_transaction_control_numbers_must_match(valid_940):
    problem = _problem(valid_940.replace("SE*21*0001", "SE*21*0002"), segment_id="SE", element=2)
    assert problem.code == "3" and "SE02 '0002' does not match ST02 '0001'" in problem.message


def test_group_trailer_must_match_and_count(valid_940):
    assert _problem(valid_940.replace("GE*1*1~", "GE*2*1~"), segment_id="GE", element=1).code == "5"
    assert _problem(valid_940.replace("GE*1*1~", "GE*1*7~"), segment_id="GE", element=2).code == "4"
    assert _problem(drop_segment(valid_940, "GE"), segment_id="GE").code == "3"


def test_interchange_trailer_must_match_and_count(valid_940):
    problem = _problem(valid_940.replace("IEA*1*000000001", "IEA*1*000000002"), segment_id="IEA", element=2)
    assert "does not match the interchange control number ISA13 '000000001'" in problem.message
    assert _problem(valid_940.replace("IEA*1*", "IEA*3*"), segment_id="IEA", element=1)
    assert "IEA is missing" in _problem(drop_segment(valid_940, "IEA"), segment_id="IEA").message


def test_missing_transaction_trailer_and_duplicate_control_number():
    text = build_940([order(), order(order_number="SO-2")], US, numbers(), NOW).text
    assert _problem(drop_segment(text, "SE*21*0001"), segment_id="SE", level="transaction").code == "2"
    duplicate = text.replace("ST*940*0002", "ST*940*0001").replace("SE*21*0002", "SE*21*0001")
    assert _problem(duplicate, segment_id="ST", element=2).code == "23"


def test_isa_must_be_fixed_width(valid_940):
    text = valid_940.replace("RETAILCO       ", "RETAILCO", 1)
    problem = _problem(text, segment_id="ISA", element=6)
    assert "ISA06 is 8 characters wide, 15 expected" in problem.message
    with pytest.raises(X12Error) as caught:
        read_interchange(text)
    assert "segment 1 (ISA) element 06" in str(caught.value)


def test_truncated_isa_cannot_be_read(valid_940):
    with pytest.raises(X12Error, match=r"ISA segment is truncated: only 8 of its 16 elements"):
        tokenize(valid_940[:60])
    with pytest.raises(X12Error, match="does not start with an ISA"):
        tokenize("GS*OW*A*B~")
    assert isinstance(X12Error("x"), ValueError)


def test_envelope_dates_and_times_are_checked(valid_940):
    text = valid_940.replace("*250301*1430*", "*251301*1430*")
    assert _problem(text, segment_id="ISA", element=9).message.endswith("is not a valid calendar date")
    text = valid_940.replace("*20250301*1430*", "*20250301*2561*")
    assert "not a valid time of day" in _problem(text, segment_id="GS", element=5).message


def test_unsupported_set_and_group_are_reported(valid_940):
    assert _problem(valid_940.replace("ST*940*", "ST*850*"), segment_id="ST", element=1).code == "1"
    assert _problem(valid_940.replace("GS*OW*", "GS*PO*"), segment_id="GS", element=1).code == "1"
    assert _problem(valid_940.replace("GS*OW*", "GS*SW*"), segment_id="ST", element=1).code == "6"


# --------------------------------------------------------------------------- segment validation

def test_every_problem_is_collected_with_its_location(valid_940):
    text = replace_segment(valid_940, "W05", "W05*N")
    text = replace_segment(text, "W01*2", "W01*2*EA**SK*" + "X" * 60)
    text = replace_segment(text, "W76", "W76*3.5*12")
    with pytest.raises(X12Error) as caught:
        read_interchange(text)
    error = caught.value
    reasons = [str(p) for p in error.problems]
    assert "segment 4 (W05) element 02: mandatory element W0502 is missing" in reasons
    assert any(r.startswith("segment 18 (W01) element 05: 'XXXX") and "60 characters, at most 48" in r
               for r in reasons)
    assert "segment 22 (W76) element 03: W7603 is required when any of W7602, W7603 is present" in reasons
    assert error.reason.splitlines()[0].endswith("3 problems found:")
    assert all(line.startswith("- segment ") for line in error.reason.splitlines()[1:])


def test_structure_errors_have_ak3_codes(valid_940):
    parts = segments(valid_940)
    w76 = parts.pop(next(i for i, s in enumerate(parts) if s.startswith("W76")))
    parts.insert(next(i for i, s in enumerate(parts) if s.startswith("LX")), w76)
    out_of_order = "~".join(parts) + "~"
    problem = _problem(out_of_order, segment_id="LX", level="segment")
    assert problem.code == "7" and "out of sequence" in problem.message
    assert _problem(drop_segment(valid_940, "W05"), segment_id="W05").code == "3"
    assert _problem(replace_segment(valid_940, "W76", "BIA*00*MB*X*20250101"), segment_id="BIA").code == "6"
    text = build_945(ShippingAdvice("SO-1", date(2025, 3, 4), [ShippedLine("A", 1)], ship_to=SHIP_TO), THEM,
                     numbers(), NOW).text
    missing = _problem(drop_segment(text, "W03"), segment_id="W03")
    assert missing.code == "3" and missing.message == "mandatory segment W03 is missing"
    references = {f"Q{n}": f"REF-{n}" for n in range(11)}  # the heading allows 10 N9
    body = shipping_order_segments(order(references=references))
    too_many = build_interchange(US, "940", [body], numbers(), NOW, validate=False).text
    problem = _problem(too_many, segment_id="N9", level="segment")
    assert problem.code == "5" and problem.message == "N9 is used 11 times here, at most 10"
    parties = "".join(f"N1*BT*Payer {n}~" for n in range(10))  # ship-to + 10 more: the N1 loop repeats 11 times
    problem = _problem(valid_940.replace("N1*SF*", parties + "N1*SF*"), segment_id="N1", level="segment")
    assert problem.code == "4" and problem.message == "loop N1 repeats 11 times, at most 10 allowed"


def test_codes_and_syntax_notes_are_enforced():
    receipt = StockTransferReceipt("PO-1", date(2025, 3, 1), "R1", [ReceivedLine("A", Decimal(5), Decimal(1))],
                                   warehouse=Address("WH"))
    text = build_944(receipt, THEM, numbers(), NOW).text
    problem = _problem(text.replace("W13*1*EA*01", "W13*1*EA*99"), segment_id="W13", element=3)
    assert problem.code == "7" and "'99' is not a valid code here" in problem.message
    advice = build_945(ShippingAdvice("SO-1", date(2025, 3, 4), [ShippedLine("A", 1)], ship_to=SHIP_TO), THEM,
                       numbers(), NOW).text
    problem = _problem(advice.replace("**SK*A~", "~"), segment_id="W12", element=6)
    assert problem.code == "2" and problem.message == "at least one of W1206, W1207 is required"


def test_builders_refuse_data_that_cannot_be_written():
    with pytest.raises(X12Error) as caught:
        build_940(order(order_number="SO-" + "9" * 30), US, numbers(), NOW)
    assert "segment 4 (W05) element 02" in str(caught.value) and "at most 22" in str(caught.value)
    with pytest.raises(X12Error, match=r"contains the element separator '\*'"):
        build_940(order(lines=[OrderLine("BAD*SKU", 1)]), US, numbers(), NOW)
    with pytest.raises(X12Error, match="needs a carrier SCAC or a routing text"):
        build_943(StockTransferShipment("PO-1", None, [TransferLine("A", 1)], ship_from=SHIP_TO), US, numbers())
    # free text is cleaned instead: a delimiter in an address never breaks the file
    messy = order(ship_to=Address("Doe * Sons ~ Ltd", "1 > Main"))
    [received] = parse_940(build_940(messy, US, numbers(), NOW).text)
    assert received.ship_to.name == "Doe Sons Ltd" and received.ship_to.street == "1 Main"


def test_reading_a_file_of_another_type_is_refused(valid_940):
    with pytest.raises(X12Error, match="expected a 945, found a 940"):
        parse_945(valid_940)
    interchange, documents = read_documents(valid_940)
    assert interchange.sender_id == "RETAILCO" and isinstance(documents[0], ShippingOrder)


# --------------------------------------------------------------------------- separators

@pytest.mark.parametrize("separators, line_breaks", [
    (Separators("|", "^", "\n"), False),
    (Separators("!", ":", "'"), True),
    (Separators("\x1d", "\x1f", "\x1c"), False),
])
def test_other_separators_are_read_from_the_isa(separators, line_breaks):
    envelope = Envelope("RETAILCO", "3PLWHSE", separators=separators, line_breaks=line_breaks)
    document = build_940(order(), envelope, numbers(), NOW)
    assert document.text[3] == separators.element and document.text[104] == separators.sub_element
    assert document.text[105] == separators.segment and len(document.text.split(separators.segment)[0]) == 105
    tokens = tokenize(document.text)
    assert tokens.separators == separators and not tokens.problems
    assert parse_940(document.text) == [order()]
    assert "*" not in document.text


def test_tokenizer_tolerates_crlf_and_a_byte_order_mark(valid_940):
    text = "\ufeff" + valid_940.replace("~", "~\r\n")
    assert parse_940(text.encode("utf-8")) == [order()]


def test_composite_elements_use_the_sub_element_separator():
    advice = InventoryAdvice("INV-1", datetime(2025, 3, 1, 8, 0), [InventoryItem("A", Decimal(3), Decimal(2))])
    text = build_846(advice, THEM, numbers(), NOW).text.replace("QTY*17*3*EA", "QTY*17*3*CA>1>12")
    assert parse_846(text)[0].item("A").uom == "CA"
    assert _problem(text.replace("QTY*33*2*EA", "QTY*33*2*E>A"), segment_id="QTY", element=3).code == "4"


# --------------------------------------------------------------------------- control numbers

def test_control_numbers_are_never_reused_and_interchange_numbers_have_nine_digits():
    counters = InMemoryControlNumbers()
    documents = [build_940(order(order_number=f"SO-{n}"), US, counters, NOW) for n in range(30)]
    interchange_numbers = [d.interchange_control for d in documents]
    assert len(set(interchange_numbers)) == 30
    assert all(re.fullmatch(r"\d{9}", n) for n in interchange_numbers)
    assert interchange_numbers == sorted(interchange_numbers)
    assert len({d.group_control for d in documents}) == 30
    assert len({c for d in documents for c in d.transaction_controls}) == 30
    for document in documents:
        assert read_interchange(document.text).control_number == document.interchange_control


def test_control_numbers_refuse_to_wrap_around():
    counters = InMemoryControlNumbers({"interchange": 999_999_999})
    last = build_940(order(), US, counters, NOW)
    assert last.interchange_control == "999999999"
    with pytest.raises(X12Error, match="exhausted"):
        build_940(order(), US, counters, NOW)


def test_control_numbers_from_a_callable_backend_are_checked():
    issued = iter(range(41, 100))
    document = build_940(order(), US, lambda kind: next(issued), NOW)
    assert (document.interchange_control, document.group_control, document.transaction_controls) == (
        "000000041", "42", ("0043",))
    with pytest.raises(X12Error, match="control number 'abc' is not a number"):
        build_940(order(), US, lambda kind: "abc", NOW)
    with pytest.raises(X12Error, match="out of range"):
        build_940(order(), US, lambda kind: 0, NOW)
