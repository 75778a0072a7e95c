# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Read a received file into typed documents: one entry point per transaction set, and a dispatcher.

``read_documents`` validates the whole interchange first (envelopes, segment order, every
element) and raises X12Error with every problem when anything is wrong, so that the caller
can quarantine the file with a readable reason and answer with a rejecting 997
(``parse_interchange`` + ``build_997``). The ``parse_9xx`` functions do the same and also
check that the file holds only the expected transaction set.

With a ``policy`` (see ``policy``), only the problems the policy does not tolerate refuse
the file; ``read_with_policy`` also returns the assessment, whose noted problems the caller
shows to a person and reports in its 997.
"""

from .ack import group_ack_from
from .envelope import Interchange, TransactionSet, parse_interchange, read_interchange
from .errors import Problem, X12Error
from .policy import Assessment, ValidationPolicy, assess
from .inventory import InventoryAdvice, inventory_advice_from
from .shipping import ShippingAdvice, ShippingOrder, shipping_advice_from, shipping_order_from
from .syntax import DEFAULT_SEPARATORS, Separators
from .transfers import StockTransferReceipt, StockTransferShipment, transfer_receipt_from, transfer_shipment_from

DECODERS = {
    "940": shipping_order_from,
    "945": shipping_advice_from,
    "943": transfer_shipment_from,
    "944": transfer_receipt_from,
    "846": inventory_advice_from,
    "997": group_ack_from,
}


def decode_transaction(transaction: TransactionSet, separators: Separators = DEFAULT_SEPARATORS):
    """Return the document of one transaction set (ShippingOrder, ShippingAdvice, ...)."""
    decoder = DECODERS.get(transaction.id)
    if decoder is None:
        raise X12Error(Problem(f"transaction set {transaction.id!r} is not supported", level="transaction",
                               segment_id="ST", position=transaction.position, element=1,
                               transaction_control=transaction.control_number))
    return decoder(transaction, separators)


def read_documents(data, policy: ValidationPolicy | None = None) -> tuple[Interchange, list]:
    """Return the validated interchange and its documents in file order; raise X12Error if refused.

    Without a policy any problem refuses the file; with one, only those it does not tolerate.
    """
    if policy is None:
        interchange = read_interchange(data)
        documents = [decode_transaction(t, interchange.separators) for _, t in interchange.transactions()]
        return interchange, documents
    interchange, documents, _assessment = read_with_policy(data, policy)
    return interchange, documents


def read_with_policy(data, policy: ValidationPolicy) -> tuple[Interchange, list, Assessment]:
    """Return the interchange, its documents and the policy's assessment; raise X12Error if refused.

    The error lists the problems that refuse the file (those the policy does not tolerate),
    and, when the documents cannot be decoded, what the reader could not use.
    """
    interchange = parse_interchange(data)
    assessment = assess(interchange, policy)
    if assessment.refused:
        what = f"interchange {interchange.control_number.strip() or '?'} from {interchange.sender_id or '?'}"
        refused = assessment.refused
        summary = (f"refused X12 {what}: {refused[0]}" if len(refused) == 1
                   else f"refused X12 {what}: {len(refused)} problems found:")
        raise X12Error(refused, summary)
    documents = [decode_transaction(t, interchange.separators) for _, t in interchange.transactions()]
    return interchange, documents, assessment


def _only(data, set_id: str) -> list:
    interchange = read_interchange(data)
    out = []
    for _, transaction in interchange.transactions():
        if transaction.id != set_id:
            raise X12Error(Problem(f"expected a {set_id}, found a {transaction.id}", level="transaction",
                                   segment_id="ST", position=transaction.position, element=1,
                                   transaction_control=transaction.control_number))
        out.append(decode_transaction(transaction, interchange.separators))
    return out


def parse_940(data) -> list[ShippingOrder]:
    """Return the shipping orders of a 940 file."""
    return _only(data, "940")


def parse_945(data) -> list[ShippingAdvice]:
    """Return the shipping advices of a 945 file."""
    return _only(data, "945")


def parse_943(data) -> list[StockTransferShipment]:
    """Return the stock transfer shipments of a 943 file."""
    return _only(data, "943")


def parse_944(data) -> list[StockTransferReceipt]:
    """Return the stock transfer receipts of a 944 file."""
    return _only(data, "944")


def parse_846(data) -> list[InventoryAdvice]:
    """Return the inventory advices of an 846 file."""
    return _only(data, "846")

