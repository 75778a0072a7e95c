"""Failure classification on a labelled set of messages held out from the seed corpus.

The messages are the product's own errors and the channels' (Shopify, WooCommerce, Square,
ShipBob, X12, generic) with other values, other records and reworded texts than the seed corpus
the classifier learns from. Accuracy is printed for the whole classifier and for the nearest
examples alone (no rules), so that what each part contributes stays visible.
"""

import time
from collections import Counter
from pathlib import Path

import pytest

from retail_connector_base_lib.intelligence.classify import (
    CLASSES,
    FailureClassifier,
    cluster_key,
    default_classifier,
    load_corpus,
    normalise,
)

LABELLED = Path(__file__).with_name("data") / "labelled_failures.tsv"


@pytest.fixture(scope="module")
def labelled():
    return load_corpus(LABELLED)


def test_the_labelled_set_is_held_out_and_covers_every_class(labelled):
    seeds = {e.message for e in load_corpus()}
    assert len(labelled) >= 80
    assert not [e.message for e in labelled if e.message in seeds]
    assert {e.code for e in labelled} == set(CLASSES)


def _accuracy(classifier, labelled):
    confusion = Counter()
    right = 0
    for example in labelled:
        found = classifier.classify(example.message, example.kind or None)
        right += found.code == example.code
        if found.code != example.code:
            confusion[(example.code, found.code)] += 1
    return right / len(labelled), confusion


def test_accuracy_on_labelled_messages(labelled):
    classifier = default_classifier()  # built once per process: not part of the time per message
    started = time.perf_counter()
    full, full_misses = _accuracy(classifier, labelled)
    per_message = (time.perf_counter() - started) / len(labelled)
    knn, knn_misses = _accuracy(FailureClassifier(use_rules=False), labelled)
    print("\nfailure classes on %d held-out messages (%d classes)" % (len(labelled), len(CLASSES)))
    print("  rules, then nearest examples: %5.1f%%" % (100 * full))
    print("  nearest examples alone:       %5.1f%%" % (100 * knn))
    print("  %.1f ms per message (classifier built from %d examples)" % (1000 * per_message, len(load_corpus())))
    for (truth, found), count in (full_misses + knn_misses).most_common():
        print("  confused: %s as %s (%d)" % (truth, found, count))
    assert full >= 0.9
    assert knn >= 0.85


def test_every_classification_explains_itself():
    classifier = default_classifier()
    by_rule = classifier.classify("POST /admin/api/2025-10/graphql.json answered 429: Throttled", "ChannelRateLimited")
    assert by_rule.code == "rate_limit" and by_rule.method == "rule"
    assert by_rule.evidence[0].startswith("rule 'rate limited'")
    assert "rate limit" in by_rule.fix.lower()
    by_examples = classifier.classify("Max retries exceeded with url /api/v1/stock (Caused by NewConnectionError)")
    assert by_examples.method == "nearest examples"
    assert by_examples.code == "network"
    assert all(" similar to [" in line for line in by_examples.evidence)
    assert 0 < by_examples.confidence <= 1
    unknown = classifier.classify("xyzzy plugh")
    assert unknown.code == "other" and unknown.confidence == 0.0


def test_normalised_messages_hide_values_but_keep_http_statuses():
    text = normalise("GET https://shop.example/orders?id=5 answered 404 for 'A-1' (jane@example.com), order 1042, "
                     "id 9f8e7d6c5b4a")
    assert "http404" in text
    for leaked in ("shop.example", "A-1", "jane", "1042", "9f8e7d6c5b4a"):
        assert leaked.lower() not in text
    assert cluster_key("Unknown product 'Mug' SKU 'RC-7'\nmore") == cluster_key("Unknown product 'Cap' SKU 'RC-9'")


def test_similar_messages_share_a_cluster_and_different_ones_do_not():
    messages = [
        "Unknown product Mug on backend Shop: no Odoo product matches SKU RC-7.",
        "Unknown product Cap on backend Shop: no Odoo product matches SKU RC-9, barcode 5012345678900.",
        "Payment gateway 'paypal' of #1 is not mapped on backend Shop: add it to the backend's Mappings tab, then replay.",
        "Shipping method 'dhl' of #2 is not mapped on backend Shop: add it to the backend's Mappings tab, then replay.",
        "Payment gateway 'klarna' of #9 is not mapped on backend Shop: add it to the backend's Mappings tab, then replay.",
    ]
    keys = default_classifier().cluster_all(messages)
    assert keys[0] == keys[1]
    assert keys[2] == keys[4]
    assert len({keys[0], keys[2], keys[3]}) == 3
