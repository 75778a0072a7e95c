"""Plain-Python protocol layer of Retail Connector: importable and testable without Odoo."""
