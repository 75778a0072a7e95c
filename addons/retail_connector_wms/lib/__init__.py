# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""Plain-Python protocol layers of the warehouse connector (no Odoo import), tested alone.

``threepl`` talks to a 3PL over REST/JSON; ``x12`` reads, validates and writes the X12 EDI
documents exchanged with a 3PL warehouse (940, 945, 943, 944, 846, 997) and ``sftp`` moves
them through the warehouse's SFTP drop.
"""
