"""Mapping suggestions on a synthetic catalogue whose truth is known: top-1 and top-3 accuracy.

200 Odoo products; the channel lists each one under a perturbed SKU, title or barcode (separators
and case, a market suffix, a typo, its own SKU, UPC instead of EAN, a barcode without its check
digit, a reworded title). The right product must be the first suggestion for most of them and
among the first three for nearly all.
"""

import random
from collections import defaultdict

import pytest
from stdnum import ean

from retail_connector_base_lib.intelligence.matching import (
    Candidate,
    Item,
    ProductMatcher,
    ValueMatcher,
    barcode_match,
    levenshtein,
    normalise_barcode,
    normalise_sku,
    rate_in,
    sku_similarity,
)

COLOURS = ["Black", "White", "Navy", "Red", "Olive", "Sand", "Grey", "Teal"]
MATERIALS = ["cotton", "linen", "wool", "ceramic", "oak", "steel", "bamboo", "leather"]
NOUNS = ["T-shirt", "Scarf", "Mug", "Bowl", "Chair", "Lamp", "Tote bag", "Cushion", "Bottle", "Wallet"]
SIZES = ["S", "M", "L", "XL", "250 ml", "500 ml", "40 cm", "60 cm"]
ABBREVIATIONS = {"T-shirt": "Tee", "Tote bag": "Tote", "Cushion": "Pillow", "Bottle": "Flask"}


def ean13(rng):
    body = "".join(str(rng.randint(0, 9)) for _ in range(12))
    return body + ean.calc_check_digit(body)


def odoo_catalogue(count=200, seed=7):
    rng = random.Random(seed)
    products, seen = [], set()
    while len(products) < count:
        colour, material, noun, size = rng.choice(COLOURS), rng.choice(MATERIALS), rng.choice(NOUNS), rng.choice(SIZES)
        if (colour, material, noun, size) in seen:
            continue
        seen.add((colour, material, noun, size))
        index = len(products) + 1
        sku = "%s-%s-%s-%04d" % (noun[:3].upper(), colour[:3].upper(), size.replace(" ", "")[:3].upper(), index)
        products.append(Candidate(id=index, name="%s %s %s %s" % (colour, material, noun.lower(), size), sku=sku,
                                  barcode=ean13(rng) if index % 2 else ""))
    return products


def _typo(rng, text):
    letters = [i for i, c in enumerate(text) if c.isalnum()]
    i = rng.choice(letters)
    replacement = rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ" if text[i].isalpha() else "0123456789".replace(text[i], ""))
    return text[:i] + replacement + text[i + 1:]


def _reword(rng, name):
    words = name.split()
    colour, material, rest = words[0], words[1], words[2:]
    noun = " ".join(rest[:-1]) if rest[-1] in ("S", "M", "L", "XL") else " ".join(rest[:-2])
    size = name[len(colour) + len(material) + len(noun) + 3:]
    for long, short in ABBREVIATIONS.items():
        if noun.lower() == long.lower():
            noun = short if rng.random() < 0.5 else noun
    return rng.choice([
        "%s %s - %s, %s" % (noun.capitalize(), colour.lower(), material, size),
        "%s %s %s (%s)" % (material.capitalize(), noun.lower(), colour.lower(), size),
        "%s %s %s" % (colour, noun.lower(), size),
    ])


PERTURBATIONS = ["separators and case", "market suffix", "SKU typo", "own SKU, reworded title",
                 "UPC for EAN", "barcode without check digit", "title typo"]


def channel_listing(products, seed=11):
    """Return (perturbation, Item, true product id) for each product, cycling through the perturbations."""
    rng = random.Random(seed)
    listing = []
    for position, product in enumerate(products):
        kind = PERTURBATIONS[position % len(PERTURBATIONS)]
        if kind in ("UPC for EAN", "barcode without check digit") and not product.barcode:
            kind = "separators and case"
        sku, name, barcode = product.sku, product.name, ""
        if kind == "separators and case":
            sku = sku.lower().replace("-", rng.choice(["_", " ", ".", ""]))
            parts = sku.rsplit("0", 1)
            sku = parts[0] + "00" + parts[1] if len(parts) == 2 else sku  # a padded number
        elif kind == "market suffix":
            sku = sku + rng.choice(["-EU", "-UK", "_B2C"])
        elif kind == "SKU typo":
            sku = _typo(rng, sku[:-4]) + sku[-4:]
        elif kind == "own SKU, reworded title":
            sku, name = "SHP-%05d" % rng.randint(0, 99999), _reword(rng, name)
        elif kind == "UPC for EAN":
            sku, barcode = "", "0" + product.barcode
        elif kind == "barcode without check digit":
            sku, barcode = "", product.barcode[:-1]
        elif kind == "title typo":
            sku, name = "", _typo(rng, name).lower()
        listing.append((kind, Item(sku=sku, barcode=barcode, name=name), product.id))
    return listing


def test_normalisers():
    assert normalise_sku("mug_blu 0042") == normalise_sku("MUG-BLU-42") == "MUGBLU42"
    assert normalise_barcode("036000291452") == normalise_barcode("0036000291452")
    assert normalise_barcode("4006381333931") == ("04006381333931", True)
    assert normalise_barcode("4006381333932")[1] is False
    assert barcode_match("400638133393", "4006381333931")[0] == 0.95
    assert barcode_match("4006381333932", "4006381333931")[0] == 0.0
    assert levenshtein("kitten", "sitting") == 3
    assert sku_similarity("TEE-BLK-M", "TEE-BLK-M")[0] == 1.0
    assert sku_similarity("TEE-BLK-M", "LAMP-99")[0] < 0.3
    assert rate_in("VAT 21%") == 21.0 and rate_in("MwSt 7,7 %") == 7.7 and rate_in("GST") is None


def test_every_suggestion_states_its_reasons():
    products = odoo_catalogue(20)
    matcher = ProductMatcher(products)
    best = matcher.suggest(Item(sku=products[4].sku.lower(), name=products[4].name))[0]
    assert best.candidate.id == products[4].id
    assert any(reason.startswith("SKU") for reason in best.reasons)
    assert any(reason.startswith("title") for reason in best.reasons)
    assert matcher.suggest(Item(sku="ZZZZZZ-999999", name="Quantum flux capacitor")) == []


def test_product_suggestions_top1_and_top3_on_a_synthetic_catalogue():
    products = odoo_catalogue(200)
    matcher = ProductMatcher(products)
    listing = channel_listing(products)
    per_kind = defaultdict(lambda: [0, 0, 0])
    for kind, item, truth in listing:
        ranked = [s.candidate.id for s in matcher.suggest(item, limit=3)]
        per_kind[kind][0] += 1
        per_kind[kind][1] += bool(ranked) and ranked[0] == truth
        per_kind[kind][2] += truth in ranked
    total = len(listing)
    top1 = sum(v[1] for v in per_kind.values()) / total
    top3 = sum(v[2] for v in per_kind.values()) / total
    print("\nproduct suggestions on %d channel listings of %d Odoo products" % (total, len(products)))
    for kind, (count, first, three) in sorted(per_kind.items()):
        print("  %-28s %3d listings  top-1 %5.1f%%  top-3 %5.1f%%" % (kind, count, 100 * first / count, 100 * three / count))
    print("  %-28s %3d listings  top-1 %5.1f%%  top-3 %5.1f%%" % ("all", total, 100 * top1, 100 * top3))
    assert top1 >= 0.85
    assert top3 >= 0.95
    # the barcode decides whatever the SKU says
    assert per_kind["UPC for EAN"][1] == per_kind["UPC for EAN"][0]
    assert per_kind["barcode without check digit"][1] == per_kind["barcode without check digit"][0]


def test_a_large_catalogue_is_shortlisted_and_still_finds_the_product():
    products = odoo_catalogue(1000, seed=3)
    matcher = ProductMatcher(products)
    listing = channel_listing(products[::10], seed=5)
    found = sum(truth in [s.candidate.id for s in matcher.suggest(item)] for _kind, item, truth in listing)
    print("\nshortlisted catalogue of %d products: top-3 %.1f%% of %d listings" % (
        len(products), 100 * found / len(listing), len(listing)))
    assert found / len(listing) >= 0.9


JOURNALS = [Candidate(1, "Bank"), Candidate(2, "Cash"), Candidate(3, "PayPal"), Candidate(4, "Stripe"),
            Candidate(5, "Shopify Payments"), Candidate(6, "Klarna"), Candidate(7, "Adyen"), Candidate(8, "Gift cards")]
GATEWAYS = [("paypal", 3), ("shopify_payments", 5), ("stripe", 4), ("klarna_pay_later", 6), ("cash on delivery", 2),
            ("bank transfer", 1), ("bacs", None), ("gift_card", 8), ("adyen_cse", 7), ("manual", None)]
CARRIERS = [Candidate(1, "DHL Express"), Candidate(2, "DHL Parcel"), Candidate(3, "UPS Standard"), Candidate(4, "UPS Express"),
            Candidate(5, "bpost"), Candidate(6, "PostNL"), Candidate(7, "GLS"), Candidate(8, "Free delivery")]
SHIPPING = [("DHL Express Worldwide", 1), ("dhl_parcel", 2), ("UPS Ground", 3), ("ups express saver", 4),
            ("Bpost home delivery", 5), ("postnl_standard", 6), ("GLS Europe", 7), ("free_shipping", 8)]
TAXES = [Candidate(1, "21%", rate=21.0), Candidate(2, "21% incl.", rate=21.0), Candidate(3, "6%", rate=6.0),
         Candidate(4, "12%", rate=12.0), Candidate(5, "0% EU", rate=0.0), Candidate(6, "20% VAT", rate=20.0)]
CHANNEL_TAXES = [("BE VAT 21%", 21.0, 1), ("BTW 6%", 6.0, 3), ("VAT 12%", 12.0, 4), ("Intra-EU 0%", 0.0, 5),
                 ("UK VAT", 20.0, 6), ("TVA 21 %", 21.0, 1)]


def _rank(matcher, items):
    top1 = top3 = count = 0
    for item, truth in items:
        ranked = [s.candidate.id for s in matcher.suggest(item, limit=3)]
        if truth is None:
            continue
        count += 1
        top1 += bool(ranked) and ranked[0] == truth
        top3 += truth in ranked
    return top1 / count, top3 / count, count


def test_value_suggestions_for_gateways_carriers_and_taxes():
    results = {
        "payment gateways -> journals": _rank(ValueMatcher(JOURNALS), [(Item(name=g), t) for g, t in GATEWAYS]),
        "shipping methods -> carriers": _rank(ValueMatcher(CARRIERS), [(Item(name=s), t) for s, t in SHIPPING]),
        "channel taxes -> taxes": _rank(ValueMatcher(TAXES), [(Item(name=n, rate=r), t) for n, r, t in CHANNEL_TAXES]),
    }
    print()
    for what, (top1, top3, count) in results.items():
        print("  %-30s %2d values  top-1 %5.1f%%  top-3 %5.1f%%" % (what, count, 100 * top1, 100 * top3))
    for top1, top3, _count in results.values():
        assert top1 >= 0.8
        assert top3 == 1.0
    # a tax of another rate is never first, whatever its name
    best = ValueMatcher(TAXES).suggest(Item(name="VAT 21%", rate=6.0))[0]
    assert best.candidate.rate == 6.0 and best.reasons[0].startswith("rate 6% =")


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_values_suggest_nothing(value):
    assert ValueMatcher(JOURNALS).suggest(Item(name=value)) == []
