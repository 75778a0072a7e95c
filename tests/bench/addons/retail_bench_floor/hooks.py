# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).


def post_init_hook(env):
    # one table, one index (its key), as bare as a durable inbox can be
    env.cr.execute("""
        CREATE TABLE IF NOT EXISTS retail_bench_floor (
            id bigserial PRIMARY KEY,
            received_at timestamp NOT NULL DEFAULT (now() at time zone 'UTC'),
            body text
        )
    """)
