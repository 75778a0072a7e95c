"""Mapping suggestions: which Odoo record a channel product or value most likely is, and why.

Plain Python (scikit-learn's TF-IDF for titles and names), no Odoo. A channel product is scored
against every Odoo product by barcode (exact, after normalising to a GTIN and checking its check
digit), SKU (normalised, edit distance and shared tokens) and title (TF-IDF of character n-grams);
a channel value (payment gateway, carrier, shipping method, tax) against Odoo records by name,
and taxes by rate too. Each suggestion carries its score (0 to 1) and the reasons behind it.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from stdnum import ean  # GS1 check digits of any GTIN length

# weights of the product score when the barcode does not decide
SKU_WEIGHT = 0.55
TITLE_WEIGHT = 0.45


@dataclass(frozen=True)
class Candidate:
    """An Odoo record that a channel item may map to."""

    id: int
    name: str
    sku: str = ""
    barcode: str = ""
    rate: float | None = None  # taxes: percent, e.g. 21.0


@dataclass(frozen=True)
class Item:
    """A channel product or value that matches nothing yet."""

    sku: str = ""
    barcode: str = ""
    name: str = ""
    rate: float | None = None  # taxes: percent


@dataclass
class Suggestion:
    """A candidate for an item, its score (0 to 1) and the reasons for it."""

    candidate: Candidate
    score: float
    reasons: list = field(default_factory=list)

    def explain(self):
        return "; ".join(self.reasons)


# ---------------------------------------------------------------------------- normalisation
def _ascii(text):
    return unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()


def normalise_sku(sku):
    """Return an SKU upper-cased, without separators and without leading zeros in its numbers."""
    tokens = sku_tokens(sku)
    return "".join(tokens)


def sku_tokens(sku):
    """Return the SKU's letter and number runs, upper-cased, numbers without leading zeros."""
    runs = re.findall(r"[A-Za-z]+|\d+", _ascii(sku))
    return [run.lstrip("0") or "0" if run.isdigit() else run.upper() for run in runs]


def normalise_barcode(barcode):
    """Return (GTIN-14, check digit valid) of a barcode: digits only, left-padded to 14.

    UPC-A (12 digits), EAN-13 and GTIN-14 of one product become the same text. Non-numeric
    codes are returned upper-cased, with False.
    """
    raw = re.sub(r"[\s-]", "", barcode or "")
    if not raw:
        return "", False
    if not raw.isdigit():
        return raw.upper(), False
    if len(raw) > 14:
        return raw, False
    gtin = raw.zfill(14)
    return gtin, ean.calc_check_digit(gtin[:-1]) == gtin[-1]


def barcode_match(channel, odoo):
    """Return (score, reason) of two barcodes: 1 when the same GTIN, 0.95 when one lacks its check digit."""
    a, a_valid = normalise_barcode(channel)
    b, b_valid = normalise_barcode(odoo)
    if not a or not b:
        return 0.0, None
    if a == b:
        return 1.0, "barcode %s = %s (same GTIN%s)" % (channel, odoo, ", check digit valid" if a_valid else "")
    # a code keyed without its check digit: the rest of the other code, then its check digit
    for short, full, short_raw, full_raw in ((a, b, channel, odoo), (b, a, odoo, channel)):
        digits = short.lstrip("0")
        if digits.isdigit() and full.isdigit() and len(digits) >= 7:
            if full.lstrip("0")[:-1] == digits and ean.calc_check_digit(full[:-1]) == full[-1]:
                return 0.95, "barcode %s is %s without its check digit" % (short_raw, full_raw)
    return 0.0, None


def levenshtein(a, b):
    """Return the edit distance of two strings (insertions, deletions, substitutions)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def sku_similarity(channel, odoo):
    """Return (score 0..1, reason) of two SKUs: normalised equality, edit distance, shared tokens."""
    if not channel or not odoo:
        return 0.0, None
    a, b = normalise_sku(channel), normalise_sku(odoo)
    if not a or not b:
        return 0.0, None
    if a == b:
        same = channel == odoo
        return 1.0, "SKU %s %s %s" % (channel, "=" if same else "= (normalised)", odoo)
    distance = levenshtein(a, b)
    by_edits = 1.0 - distance / max(len(a), len(b))
    ta, tb = set(sku_tokens(channel)), set(sku_tokens(odoo))
    by_tokens = len(ta & tb) / len(ta | tb) if ta | tb else 0.0
    # one code inside the other (a channel prefix or suffix such as -EU)
    contained = 0.9 * min(len(a), len(b)) / max(len(a), len(b)) if (a in b or b in a) else 0.0
    score = max(by_edits, by_tokens, contained)
    if score <= 0:
        return 0.0, None
    how = {by_edits: "%d edits" % distance, by_tokens: "%d of %d parts shared" % (len(ta & tb), len(ta | tb)),
           contained: "one contains the other"}[score]
    return score, "SKU %s ~ %s (%s, %.2f)" % (channel, odoo, how, score)


class TextIndex:
    """TF-IDF of character n-grams over candidate texts; cosine similarity of a query to each."""

    def __init__(self, texts):
        from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415 - heavy, loaded on use

        self.size = len(texts)
        cleaned = [_clean_text(t) for t in texts]
        self.vectoriser = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)
        self.matrix = self.vectoriser.fit_transform(cleaned or [""]) if any(cleaned) else None

    def scores(self, text):
        """Return one similarity per candidate text, in their order."""
        if self.matrix is None or not _clean_text(text):
            return [0.0] * self.size
        vector = self.vectoriser.transform([_clean_text(text)])
        return (self.matrix @ vector.T).toarray().ravel().tolist()


def _clean_text(text):
    text = _ascii(text).lower().replace("_", " ")
    return re.sub(r"[^a-z0-9%.]+", " ", text).strip()


# ---------------------------------------------------------------------------- products
class ProductMatcher:
    """Ranks Odoo products for channel products by barcode, SKU and title.

    A large catalogue is first narrowed to a shortlist (the best titles and SKUs by TF-IDF, and
    the barcode's exact matches) so that the exact scores are computed on a few products only.
    """

    SHORTLIST = 60

    def __init__(self, candidates):
        self.candidates = list(candidates)
        self.titles = TextIndex([c.name for c in self.candidates])
        self.skus = TextIndex([c.sku for c in self.candidates])
        self.by_barcode = {}
        for position, candidate in enumerate(self.candidates):
            gtin, _valid = normalise_barcode(candidate.barcode)
            if gtin:
                self.by_barcode.setdefault(gtin, []).append(position)

    def _shortlist(self, item, title_scores):
        if len(self.candidates) <= self.SHORTLIST:
            return range(len(self.candidates))
        chosen = set()
        for scores in (title_scores, self.skus.scores(item.sku)):
            chosen.update(sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[: self.SHORTLIST // 2])
        raw = re.sub(r"\D", "", item.barcode or "")
        for code in (raw, raw + ean.calc_check_digit(raw) if raw else ""):
            gtin, _valid = normalise_barcode(code)
            chosen.update(self.by_barcode.get(gtin, []))
        return sorted(chosen)

    def suggest(self, item, limit=3, min_score=0.3):
        """Return the best ``limit`` Suggestions for a channel product, best first."""
        title_scores = self.titles.scores(item.name)
        ranked = []
        for position in self._shortlist(item, title_scores):
            suggestion = self._score(item, self.candidates[position], title_scores[position])
            if suggestion.score >= min_score:
                ranked.append(suggestion)
        ranked.sort(key=lambda s: (-s.score, s.candidate.id))
        return ranked[:limit]

    def _score(self, item, candidate, title):
        reasons = []
        barcode, why = barcode_match(item.barcode, candidate.barcode)
        if why:
            reasons.append(why)
        sku, why = sku_similarity(item.sku, candidate.sku)
        if why:
            reasons.append(why)
        if item.name and title > 0.05:
            reasons.append("title %r ~ %r (%.2f)" % (item.name, candidate.name, title))
        if item.sku and item.name:
            blended = SKU_WEIGHT * sku + TITLE_WEIGHT * title
        else:
            blended = 0.9 * (sku if item.sku else title)
        score = 0.9 + 0.1 * blended if barcode >= 0.95 else blended
        if barcode and barcode < 1.0:
            score -= 0.02
        return Suggestion(candidate, round(min(score, 1.0), 4), reasons)


# ---------------------------------------------------------------------------- values
class ValueMatcher:
    """Ranks Odoo records (journals, carriers, taxes, shipping products) for a channel value by name.

    Taxes are matched on their rate first: a channel tax of 21% is one of Odoo's 21% taxes, the
    name tells which.
    """

    def __init__(self, candidates):
        self.candidates = list(candidates)
        self.names = TextIndex([c.name for c in self.candidates])

    def suggest(self, item, limit=3, min_score=0.2):
        """Return the best ``limit`` Suggestions for a channel value, best first."""
        name_scores = self.names.scores(item.name)
        ranked = []
        for candidate, name in zip(self.candidates, name_scores):
            reasons = []
            tokens = _token_overlap(item.name, candidate.name)
            name = max(name, tokens)
            if name > 0.05:
                reasons.append("name %r ~ %r (%.2f)" % (item.name, candidate.name, name))
            score = name
            if item.rate is not None and candidate.rate is not None:
                same = abs(float(item.rate) - float(candidate.rate)) < 1e-4
                reasons.insert(0, "rate %s%% %s %s%%" % (_pct(item.rate), "=" if same else "≠", _pct(candidate.rate)))
                score = 0.6 * same + 0.4 * name
            if score >= min_score:
                ranked.append(Suggestion(candidate, round(score, 4), reasons))
        ranked.sort(key=lambda s: (-s.score, s.candidate.id))
        return ranked[:limit]


def _token_overlap(value, name):
    """Return how much of an Odoo name the channel value holds, word for word (0 to 1).

    Channels add words to a carrier's name ("Bpost home delivery" for "bpost"): every word of
    the Odoo name found in the value counts, the value's extra words cost a little.
    """
    tv, tn = set(_clean_text(value).split()), set(_clean_text(name).split())
    if not tv or not tn:
        return 0.0
    covered = len(tv & tn) / len(tn)
    return covered * (0.95 if tv - tn else 1.0)


def _pct(value):
    return ("%.4f" % float(value)).rstrip("0").rstrip(".")


_RATE = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")


def rate_in(text):
    """Return the percent a tax name states ("VAT 21%" -> 21.0), or None."""
    found = _RATE.search(text or "")
    return float(found.group(1).replace(",", ".")) if found else None
