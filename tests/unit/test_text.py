# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
import json

from retail_connector_base_lib.text import is_storable, storable, storable_values


def test_nul_is_removed_and_a_lone_surrogate_replaced():
    decoded = json.loads('"Mug\\u0000 \\ud800blue"')
    assert storable(decoded) == "Mug \ufffdblue"
    assert storable(decoded).encode("utf-8")
    assert not is_storable(decoded)
    assert is_storable("Mug blue")


def test_valid_text_and_non_text_pass_through():
    assert storable("Café 😀") == "Café 😀"
    assert storable(None) is None
    assert storable(False) is False
    assert storable(12) == 12
    assert storable_values({"name": "A\x00B", "qty": 2}) == {"name": "AB", "qty": 2}
