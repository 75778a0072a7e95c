# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Square's Locations, Orders, Catalog and Inventory APIs, and their mapping to canonical objects.

Plain Python (requests and the base addon's lib): importable and testable without Odoo.
"""

from .client import SQUARE_VERSION, SquareClient

__all__ = ["SQUARE_VERSION", "SquareClient"]
