# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The access check every public method of the connector's models starts with.

Odoo lets any logged-in user, a portal user included, call a model's public method over RPC,
and checks no access right by itself before running it: a method without a leading
underscore checks access first, before it reads, writes or calls a channel.
"""

from odoo.exceptions import AccessError

GROUP_USER = "retail_connector_base.group_retail_user"
GROUP_MANAGER = "retail_connector_base.group_retail_manager"


def check_retail_access(records, operation, group=GROUP_USER):
    """Raise an AccessError unless the user may ``operation`` the records and belongs to ``group``.

    The access rights and record rules come first (their error names the groups that have the
    access); the group check covers actions that a model's access rights alone would allow to a
    lesser group, e.g. cancelling a workflow that users may otherwise write. The superuser and
    ``sudo()`` environments pass: the pipeline's own calls are not refused.
    """
    records.check_access(operation)
    env = records.env
    if env.su or env.user.has_group(group):
        return
    raise AccessError(env._(
        "Only the group “%(group)s” may do this on %(model)s records; %(user)s is not in it. "
        "Ask an administrator to add you to the group.",
        group=env.ref(group).sudo().full_name,
        model=records._description or records._name,
        user=env.user.name,
    ))
