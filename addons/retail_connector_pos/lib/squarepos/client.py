# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Client of Square's APIs (version 2025-10-16): Locations, Orders, Catalog and Inventory.

Requests carry ``Authorization: Bearer <access token>`` and ``Square-Version``. Errors come as
``{"errors": [{"category", "code", "detail", "field"}]}`` and become the connector's channel
errors with that list in ``details``; lists page with an opaque ``cursor``. Writes that Square
makes idempotent (catalog batch upsert, inventory batch changes) take an ``idempotency_key``:
the same key with the same body answers the same result, so a retried export never applies twice.
"""

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone

from retail_connector_base_lib.http import ChannelAuthError, ChannelHttpClient

SQUARE_VERSION = "2025-10-16"
MAX_INVENTORY_CHANGES = 100
MAX_ORDER_IDS = 100


class _SquareHttp(ChannelHttpClient):
    def _error_for(self, where, resp):
        error = super()._error_for(where, resp)
        errors = resp.data.get("errors") if isinstance(resp.data, Mapping) else None
        if not errors:
            return error
        text = "; ".join("%s %s%s" % (e.get("code"), e.get("detail"), " (%s)" % e["field"] if e.get("field") else "")
                         for e in errors if isinstance(e, Mapping))
        return type(error)("%s answered %s: %s" % (where, resp.status, text[:500]), error.status, error.retry_after,
                           list(errors))


def _iso(moment: datetime) -> str:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class SquareClient:
    """Talks to one Square account with its access token."""

    def __init__(self, base_url, access_token, *, square_version=SQUARE_VERSION, timeout=30, session=None,
                 before_request=None, after_response=None):
        if not access_token:
            raise ChannelAuthError("Square needs an access token")
        self.http = _SquareHttp(base_url, timeout=timeout, user_agent="RetailConnector-Square", session=session,
                                before_request=before_request, after_response=after_response)
        self._headers = {"Authorization": "Bearer " + access_token, "Square-Version": square_version or SQUARE_VERSION}

    def _call(self, method, path, body=None):
        return self.http.request(method, path, json=body, headers=self._headers).data or {}

    def list_locations(self) -> list[Mapping]:
        return list(self._call("GET", "v2/locations").get("locations") or [])

    def get_customer(self, customer_id: str) -> Mapping | None:
        """Return a customer of the account (``GET /v2/customers/{id}``), or None when unknown."""
        from retail_connector_base_lib.http import ChannelNotFound  # noqa: PLC0415

        try:
            return self._call("GET", "v2/customers/%s" % customer_id).get("customer")
        except ChannelNotFound:
            return None

    def batch_retrieve_orders(self, order_ids: Iterable[str]) -> list[Mapping]:
        ids = list(dict.fromkeys(order_ids))
        orders = []
        for start in range(0, len(ids), MAX_ORDER_IDS):
            orders += self._call("POST", "v2/orders/batch-retrieve",
                                 {"order_ids": ids[start:start + MAX_ORDER_IDS]}).get("orders") or []
        return orders

    def search_orders(self, location_ids, *, closed_at_start=None, closed_at_end=None, states=("COMPLETED",),
                      limit=500) -> Iterator[Mapping]:
        """Yield the orders of the locations closed in ``[start, end)``, oldest close first."""
        window = {}
        if closed_at_start:
            window["start_at"] = _iso(closed_at_start)
        if closed_at_end:
            window["end_at"] = _iso(closed_at_end)
        query = {"filter": {"state_filter": {"states": list(states)}}, "sort": {"sort_field": "CLOSED_AT",
                                                                                "sort_order": "ASC"}}
        if window:
            query["filter"]["date_time_filter"] = {"closed_at": window}
        body = {"location_ids": list(location_ids), "query": query, "limit": limit}
        while True:
            page = self._call("POST", "v2/orders/search", body)
            yield from page.get("orders") or []
            if not page.get("cursor"):
                return
            body = dict(body, cursor=page["cursor"])

    def batch_upsert_catalog(self, objects: list, *, idempotency_key: str) -> Mapping:
        """Return Square's answer (``objects``, ``id_mappings``) after upserting items with their variations."""
        return self._call("POST", "v2/catalog/batch-upsert",
                          {"idempotency_key": idempotency_key, "batches": [{"objects": list(objects)}]})

    def batch_change_inventory(self, changes: list, *, idempotency_key: str) -> list[Mapping]:
        if len(changes) > MAX_INVENTORY_CHANGES:
            raise ValueError("Square takes at most %d inventory changes per call" % MAX_INVENTORY_CHANGES)
        return list(self._call("POST", "v2/inventory/changes/batch-create",
                               {"idempotency_key": idempotency_key, "changes": list(changes)}).get("counts") or [])

    def batch_retrieve_inventory_counts(self, catalog_object_ids, *, location_ids=None) -> list[Mapping]:
        body = {"catalog_object_ids": list(catalog_object_ids)}
        if location_ids:
            body["location_ids"] = list(location_ids)
        counts = []
        while True:
            page = self._call("POST", "v2/inventory/counts/batch-retrieve", body)
            counts += page.get("counts") or []
            if not page.get("cursor"):
                return counts
            body = dict(body, cursor=page["cursor"])
