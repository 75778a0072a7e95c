"""Plain-Python protocol layers of the marketplace channels (no Odoo import), tested alone."""
