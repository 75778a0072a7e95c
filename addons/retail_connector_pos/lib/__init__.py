# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Protocol layers of the store POS channels: plain Python, importable without Odoo."""
