# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""New orders a dispatcher creates together, by batch token (process-local, one dispatcher each)."""

# The outcome of a new order left to its dispatcher, to be created with the batch's other new orders.
BATCHED = "batched"

# token -> list of entries, each a dict: event_id, order (canonical), vals, currency_id, confirm
ORDER_BATCHES = {}


def open_batch(token):
    ORDER_BATCHES[token] = []


def close_batch(token):
    """Return the entries of a batch, which is closed."""
    return ORDER_BATCHES.pop(token, None) or []


def add_to_batch(token, entry):
    """Add an entry to an open batch; return False when the batch is not open (nothing added)."""
    entries = ORDER_BATCHES.get(token)
    if entries is None:
        return False
    entries.append(entry)
    return True
