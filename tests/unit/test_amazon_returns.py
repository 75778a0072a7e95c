"""Amazon returns: the returns reports' flat files as canonical returns, the Reports API client against the
simulator, and the simulator's reports against python-amazon-sp-api's ReportsV2."""

import gzip
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from retail_connector_base_lib.http import ChannelValidationError
from retail_connector_marketplace_lib.amazon import (
    FBA_RETURNS,
    MFN_RETURNS,
    LwaAuth,
    MemoryTokenStore,
    ReportFormatError,
    ReportRowError,
    SellingPartnerClient,
    parse_flat_file,
    returns_of_report,
)
from retail_connector_marketplace_lib.amazon.returns import error_data, is_error_data, parse_moment
from simulators.amazon import MFN_RETURN_COLUMNS, AmazonSimulator

DATA = Path(__file__).parent / "data" / "amazon"
MARKET = "A1PA6795UKMFR9"


@pytest.fixture
def sim():
    # a refresh token of its own: python-amazon-sp-api keeps access tokens per credentials for the process
    simulator = AmazonSimulator(rate_scale=100.0, report_delay=0.3, sqs=False,
                                refresh_token="Atzr|sim-%s" % uuid.uuid4().hex).start()
    try:
        yield simulator
    finally:
        simulator.stop()


def _client(sim):
    auth = LwaAuth(sim.client_id, sim.client_secret, sim.refresh_token, token_url=sim.token_url,
                   store=MemoryTokenStore())
    return SellingPartnerClient(sim.url, auth, sleep=time.sleep)


def _hour_ago():
    return datetime.now(timezone.utc) - timedelta(hours=1)


# ------------------------------------------------------------------ the flat files


def test_documented_header_and_windows_1252_text():
    header, rows = parse_flat_file((DATA / "returns_flat_file.txt").read_bytes())
    assert header[:5] == ["Order ID", "Order date", "Return request date", "Return request status", "Amazon RMA ID"]
    assert len(header) == 32 and header[-1] == "Refunded Amount"
    assert [row["_row"] for row in rows] == [2, 3, 4, 5]
    assert rows[0]["itemname"] == "Tasse Café"  # the document was Windows-1252


def test_merchant_fulfilled_returns_grouped_per_rma():
    found = returns_of_report(MFN_RETURNS, (DATA / "returns_flat_file.txt").read_bytes())
    returns = [r for r in found if not isinstance(r, ReportRowError)]
    errors = [r for r in found if isinstance(r, ReportRowError)]
    first, rejected = returns
    assert (first.external_id, first.order_external_id, first.status) == ("DkX9aB1cR", "302-1234567-1234567", "approved")
    assert first.created_at == datetime(2026, 11, 9, tzinfo=timezone.utc)  # 09-Nov-2026
    assert [(line.sku, line.quantity, line.reason) for line in first.lines] == [
        ("RC-MUG", Decimal(1), "NO_LONGER_NEEDED"), ("RC-CAP", Decimal(1), "DEFECTIVE")]
    assert first.lines[0].amount == Decimal("14.95") and first.lines[1].amount is None
    assert not any(line.restock for line in first.lines)  # inspected before it is sold again
    assert first.extra["tracking_id"] == "JJD000123456789"
    # a return Amazon rejected is still recorded (so that a later import does not authorise it)
    assert (rejected.external_id, rejected.status, rejected.extra["seller_rma_id"]) == ("DmQ2zZ8pL", "rejected", "SRMA-7")
    assert rejected.created_at == datetime(2026, 11, 10, 14, 30, tzinfo=timezone.utc)
    # the bad row: named by row, column and value, its return not half-imported
    [error] = errors
    assert (error.external_id, error.row, error.column, error.value) == ("DpW4yY7kM", 5, "Return quantity", "two")
    assert "row 5: Return quantity 'two' is not a number" in str(error)
    assert error.order_id == "028-1111111-2222222"
    data = error_data(error)
    assert is_error_data(data) and data["report_error"]["field"] == "Return quantity"


def test_amazon_fulfilled_returns_per_order_and_return_date():
    [ret] = returns_of_report(FBA_RETURNS, (DATA / "fba_customer_returns.txt").read_bytes())
    assert ret.external_id == "FBA-305-9999999-0000001-20261112091542"
    assert (ret.order_external_id, ret.status, ret.note) == ("305-9999999-0000001", "received", "strap broken")
    assert [(line.sku, line.restock) for line in ret.lines] == [("RC-MUG", True), ("RC-CAP", False)]
    assert ret.lines[1].extra["disposition"] == "CUSTOMER_DAMAGED"


def test_rows_missing_what_identifies_a_return_are_errors_naming_the_column():
    header = "\t".join(MFN_RETURN_COLUMNS)
    row = dict.fromkeys(MFN_RETURN_COLUMNS, "")
    row.update({"Order ID": "111-1", "Return request date": "2026-11-01", "Amazon RMA ID": "", "Merchant SKU": "A",
                "Return quantity": "1"})
    other = dict(row, **{"Amazon RMA ID": "R2", "Return request date": "yesterday"})
    text = "\n".join([header] + ["\t".join(r[c] for c in MFN_RETURN_COLUMNS) for r in (row, other)])
    first, second = returns_of_report(MFN_RETURNS, text.encode())
    assert (first.row, first.column, first.message) == (2, "Amazon RMA ID", "is required")
    assert (second.external_id, second.column, second.value) == ("R2", "Return request date", "yesterday")


def test_a_document_without_the_report_columns_is_refused():
    with pytest.raises(ReportFormatError, match="Amazon RMA ID"):
        returns_of_report(MFN_RETURNS, b"order-id\tsku\n1\tA\n")
    assert returns_of_report(MFN_RETURNS, b"") == []


def test_report_dates():
    assert parse_moment("2026-11-10T14:30:00+01:00") == datetime(2026, 11, 10, 13, 30, tzinfo=timezone.utc)
    assert parse_moment("10-Nov-2026") == datetime(2026, 11, 10, tzinfo=timezone.utc)
    assert parse_moment("2026-11-10T14:30:00Z").hour == 14
    assert parse_moment("soon") is None


# ------------------------------------------------------------------ Reports API against the simulator


@pytest.mark.parametrize("gzipped", [False, True])
def test_returns_report_through_the_reports_api(sim, gzipped):
    sim.report_gzip = gzipped
    order_id = sim.add_order(items=[("RC-MUG", 2, "9.50"), ("RC-CAP", 1, "5.00")], notify=False)
    old = sim.add_order(items=[("RC-MUG", 1, "9.50")], notify=False)
    sim.add_return(old, "RC-MUG", 1, requested_at=datetime.now(timezone.utc) - timedelta(days=3))
    rma = sim.add_return(order_id, "RC-MUG", 2, "DEFECTIVE", refunded="19.00")
    sim.add_return(order_id, "RC-CAP", 1, "NO_LONGER_NEEDED", rma_id=rma)
    client = _client(sim)
    content = client.read_report(MFN_RETURNS, [MARKET], data_start_time=_hour_ago(), interval=0.1)
    [ret] = returns_of_report(MFN_RETURNS, content)
    assert (ret.external_id, ret.order_external_id) == (rma, order_id)
    assert [(line.sku, int(line.quantity)) for line in ret.lines] == [("RC-MUG", 2), ("RC-CAP", 1)]
    assert ret.lines[0].amount == Decimal("19.00") and ret.currency == "EUR"
    report = sim.reports[max(sim.reports)]
    assert report["processingStatus"] == "DONE" and report["dataStartTime"] <= report["createdTime"]
    # the document was served gzipped when told, and read the same
    document = sim.documents[report["reportDocumentId"]]
    assert (document.get("compression") == "GZIP") is gzipped
    if gzipped:
        assert gzip.decompress(document["content"]).startswith(b"Order ID\tOrder date\t")
    # getReport was polled until DONE
    assert len(sim.calls_to("GET", "/reports/2021-06-30/reports/%s" % report["reportId"])) >= 2


def test_a_report_without_data_is_cancelled_and_reads_empty(sim):
    client = _client(sim)
    assert client.read_report(FBA_RETURNS, [MARKET], data_start_time=_hour_ago(), interval=0.1) == b""
    assert [r["processingStatus"] for r in sim.reports.values()] == ["CANCELLED"]


def test_a_report_still_being_made_is_asked_about_again_later(sim):
    sim.report_delay = 1.0
    client = _client(sim)
    report_id = client.create_report(MFN_RETURNS, [MARKET], data_start_time=_hour_ago())
    assert client.report_when_ready(report_id, timeout=0.2, interval=0.1) is None
    assert sim.reports[report_id]["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS")
    time.sleep(1.0)
    assert client.report_when_ready(report_id, timeout=0.2, interval=0.1)["processingStatus"] == "CANCELLED"


def test_a_fatal_report_raises_with_amazons_reason(sim):
    sim.fail_reports(1)
    with pytest.raises(ChannelValidationError, match="FATAL.*could not be generated"):
        _client(sim).read_report(MFN_RETURNS, [MARKET], data_start_time=_hour_ago(), interval=0.1)


def test_create_report_is_rate_limited_like_the_other_operations(sim):
    sim.set_plan("createReport", 0.001, 1)
    client = _client(sim)
    client.max_wait = 0.0
    client.create_report(MFN_RETURNS, [MARKET], data_start_time=_hour_ago())
    client.limiter.observe("createReport", 1000)  # our bucket lets it go: Amazon's answers 429
    from retail_connector_base_lib.http import ChannelRateLimited  # noqa: PLC0415

    with pytest.raises(ChannelRateLimited):
        client.create_report(MFN_RETURNS, [MARKET], data_start_time=_hour_ago())
    assert sim.throttled["createReport"] == 1


def test_python_amazon_sp_api_reports_v2_speaks_to_the_simulator(sim):
    from sp_api.api import ReportsV2  # noqa: PLC0415
    from sp_api.auth import AccessTokenClient  # noqa: PLC0415
    from sp_api.base import Marketplaces  # noqa: PLC0415

    class LoopbackLwa(AccessTokenClient):
        scheme = "http://"
        host = sim.url.split("://", 1)[1]

    sim.report_gzip = True
    order_id = sim.add_order(items=[("RC-MUG", 1, "9.50")], notify=False)
    rma = sim.add_return(order_id, "RC-MUG", 1, "UNWANTED_ITEM")
    reports = ReportsV2(marketplace=Marketplaces.DE, auth_token_client_class=LoopbackLwa, credentials={
        "refresh_token": sim.refresh_token, "lwa_app_id": sim.client_id, "lwa_client_secret": sim.client_secret})
    reports.endpoint = sim.url
    created = reports.create_report(reportType=MFN_RETURNS, marketplaceIds=[MARKET],
                                    dataStartTime=_hour_ago().strftime("%Y-%m-%dT%H:%M:%SZ"))
    report_id = created.payload["reportId"]
    deadline = datetime.now(timezone.utc) + timedelta(seconds=10)
    while True:
        report = reports.get_report(report_id).payload
        if report["processingStatus"] in ("DONE", "CANCELLED", "FATAL") or datetime.now(timezone.utc) > deadline:
            break
        time.sleep(0.1)
    assert report["processingStatus"] == "DONE"
    document = reports.get_report_document(report["reportDocumentId"], download=True, character_code="utf-8")
    assert document.payload["compressionAlgorithm"] == "GZIP"
    [ret] = returns_of_report(MFN_RETURNS, document.payload["document"])
    assert (ret.external_id, ret.order_external_id, ret.lines[0].sku) == (rma, order_id, "RC-MUG")
