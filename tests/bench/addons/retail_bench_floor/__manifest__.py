# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
{
    "name": "Retail Connector benchmark: durable floor",
    "summary": "A route that stores a request body in one row and commits, and nothing else (benchmarks only)",
    "version": "19.0.1.0.0",
    "license": "LGPL-3",
    "author": "Retail Connector",
    "depends": ["base", "web"],
    "data": [],
    "post_init_hook": "post_init_hook",
    "installable": True,
    "application": False,
}
