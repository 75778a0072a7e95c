"""Failure classes: which kind of problem an error is, what to do about it, and why we think so.

Plain Python (scikit-learn's TF-IDF), no Odoo and no external service. An error is classified by
ordered rules on its error kind (the exception type or the pipeline's own kind) and on its
message; a message no rule knows is given the class of its nearest labelled examples (TF-IDF
cosine over a seed corpus shipped beside this file). Every answer carries its evidence: the rule
that matched, or the nearest examples with their similarity.

Messages are compared in a normalised form (ids, numbers, URLs, e-mails and quoted values
replaced by placeholders), so that "Unknown product 'Mug' ... SKU 'RC-7'" and "Unknown product
'Cap' ... SKU 'RC-9'" read the same. Similar messages share a cluster: the first message of a
cluster leads it, and a later one joins the most similar leader above a cosine threshold.
"""

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

SEED_CORPUS = Path(__file__).with_name("error_corpus.tsv")


@dataclass(frozen=True)
class FailureClass:
    """One class of failure: its code, its label and the fix suggested to the user."""

    code: str
    label: str
    fix: str


CLASSES = {
    c.code: c
    for c in (
        FailureClass(
            "unknown_product", "Unknown product",
            "A channel product matches no Odoo product. On the backend, press Suggest mappings to bind the "
            "channel SKU to an Odoo product (or create the product, or set its Internal Reference or Barcode "
            "in Inventory > Products), then replay the events.",
        ),
        FailureClass(
            "missing_mapping", "Missing mapping",
            "A channel value (payment gateway, shipping method, tax, store, tender, route) has no Odoo "
            "counterpart. Add it on the backend's Mappings tab, or accept a suggestion from Suggest mappings "
            "on the backend, then press Retry all in Events > Failures by cause.",
        ),
        FailureClass(
            "duplicate_match", "Duplicate match",
            "Several Odoo records carry the same identifier, so the channel value cannot pick one. Make the "
            "Internal Reference or Barcode unique in Inventory > Products (or the value unique where the "
            "message says), then Retry all.",
        ),
        FailureClass(
            "currency", "Currency",
            "The order's currency is missing, inactive or has no pricelist. Activate it in Accounting > "
            "Configuration > Currencies, or set a pricelist in that currency on the backend, then Retry all.",
        ),
        FailureClass(
            "authentication", "Authentication",
            "The channel refused the credentials, or a signature did not match. Check the API credentials and "
            "webhook secrets on the backend form (Retail Connector > Configuration > Backends), press Test "
            "connection, then Retry all.",
        ),
        FailureClass(
            "rate_limit", "Rate limit",
            "The channel throttled the calls. Nothing is lost: the connector waits as the channel asks and "
            "retries. If it keeps happening, lower the backend's rate limit or spread the sync policies' "
            "schedules (Configuration > Sync policies).",
        ),
        FailureClass(
            "network", "Network or channel outage",
            "The channel could not be reached, timed out or answered a server error. Check the backend's "
            "endpoint URL and the channel's status; the backend turns degraded and resumes by itself. Retry all "
            "once the channel answers.",
        ),
        FailureClass(
            "channel_rejected", "Refused by the channel",
            "The channel refused the content it was sent (its message names the field). Correct the Odoo "
            "record it names (product, price, address, quantity), then Retry all on the failed exports.",
        ),
        FailureClass(
            "invalid_payload", "Invalid payload",
            "The data received is not valid (bad JSON, a missing or malformed field, an unreadable file). Open "
            "the event, correct it on the Edit and replay tab and press Replay; if every event of the channel "
            "fails the same way, the channel changed its format.",
        ),
        FailureClass(
            "not_found", "Not found",
            "The record the message names does not exist where it was looked for (on the channel, or not yet "
            "in Odoo). Create or publish it there, or run Reconcile now on the backend to import it first, then "
            "Retry all.",
        ),
        FailureClass(
            "configuration", "Backend configuration",
            "The backend lacks a setting the call needs (URL, host, location, identity). Complete the backend "
            "form as the message says (Retail Connector > Configuration > Backends), then Retry all.",
        ),
        FailureClass(
            "business_conflict", "Business conflict",
            "The channel's document and Odoo's disagree (quantities, totals, lots, states). Compare the two "
            "documents the message names, adjust the Odoo record by hand, then replay, or ignore the event.",
        ),
        FailureClass(
            "concurrency", "Concurrent update",
            "Another job held the same record. It is transient: the connector retries; press Retry all if the "
            "event still ends as a dead letter.",
        ),
        FailureClass(
            "other", "Other",
            "No known cause. Read the message and the event's payload, fix the cause, then Retry all; the "
            "nearest labelled examples (Why this class) show what it resembles.",
        ),
    )
}
CLASS_SELECTION = [(c.code, c.label) for c in CLASSES.values()]


@dataclass(frozen=True)
class Rule:
    """A class given by an error kind (exception type or pipeline kind) or a message pattern."""

    name: str
    code: str
    kinds: tuple = ()
    pattern: str = ""

    def match(self, kind, message):
        """Return the evidence text when the rule applies to (kind, message), else None."""
        if kind and kind in self.kinds:
            return "error kind %s" % kind
        if self.pattern:
            found = re.search(self.pattern, message, re.IGNORECASE)
            if found:
                return "message contains %r" % found.group(0)
        return None


# Order matters: the pipeline's own kinds first, then message patterns from the most specific one;
# the exception type alone (EXCEPTION_TYPES) decides only when no pattern does.
RULES = (
    Rule("unknown product kind", "unknown_product", ("unknown_product",)),
    Rule("missing mapping kind", "missing_mapping", ("missing_mapping",)),
    Rule("ambiguous product kind", "duplicate_match", ("ambiguous_product",)),
    Rule("currency kind", "currency", ("currency",)),
    Rule("unknown transfer kind", "not_found", ("unknown_transfer",)),
    Rule("rate limited", "rate_limit", (),
         r"\b(answered|status|http)\s+429\b|throttl|rate.?limit|too many requests|query cost"),
    Rule("concurrent job", "concurrency", (),
         r"another job|could not serialize|serialization failure|deadlock|could not obtain lock|lock not available"
         r"|concurrent update|lock timeout"),
    Rule("authentication", "authentication", (),
         r"\b(answered|status|http)\s+40[13]\b|unauthori[sz]ed|forbidden|invalid api key|access token|credential"
         r"|signature|hmac|consumer (key|secret)|webhook secret|host key|fingerprint|passphrase|private key"),
    Rule("transport", "network", (),
         r"\b(answered|status|http)\s+5\d\d\b|did not answer in time|timed? ?out|cannot connect|connection (refused"
         r"|reset|aborted)|name or service not known|temporarily unavailable|bad gateway|service unavailable"
         r"|ssh session failed|network is unreachable"),
    Rule("unknown product", "unknown_product", (),
         r"unknown product|no odoo product (matches|has)|matches no odoo product|which transfer \S+ does not hold"),
    Rule("currency", "currency", (), r"\bcurrenc(y|ies)\b|pricelist in"),
    Rule("not mapped", "missing_mapping", (),
         r"not mapped|no odoo payment method|mappings tab|tenders tab|stores tab|no warehouse route|map the \w+"),
    Rule("duplicate", "duplicate_match", (),
         r"several odoo \w+ have|make it unique|already (bound|mapped|been taken|taken)|duplicate key"
         r"|used by another"),
    Rule("business conflict", "business_conflict", (),
         r"the order has \d+ left|nothing (is )?left|could not be validated|tracked by|serial numbers|several lots"
         r"|could not be booked|changed the lines|not enough stock|insufficient|totals? .* but|could not cancel"),
    Rule("not found", "not_found", (),
         r"\b(answered|status|http)\s+404\b|not found|does not exist|has no (order|product|such)\b|never released"
         r"|not imported|not booked yet|is not on the"),
    Rule("channel refused", "channel_rejected", (),
         r"\b(answered|status|http)\s+(400|409|422)\b|\brefused\b|usererrors"),
    Rule("configuration", "configuration", (),
         r"has no (api |endpoint |shop |site )?url|not an http|needs (its|a|an) |is not configured|set it in the "
         r"backend|no active location|no fulfillment center|control numbers? .*exhausted|sees no channel"),
    Rule("invalid data", "invalid_payload", (),
         r"not valid json|invalid \w+: \d+ errors?|is invalid \(|\bis required\b|must be (a|an|one|iso)|malformed"
         r"|truncated|null character|\bnul\b|0x00|is not a number|is missing$|not utf-8|invalid byte sequence"),
)
# exception type -> class, when no rule above decided
EXCEPTION_TYPES = {
    "ChannelRateLimited": "rate_limit",
    "ChannelAuthError": "authentication",
    "SignatureError": "authentication",
    "ChannelTransportError": "network",
    "ChannelNotFound": "not_found",
    "ChannelValidationError": "channel_rejected",
    "CanonicalValidationError": "invalid_payload",
    "SchemaError": "invalid_payload",
    "DataError": "invalid_payload",
    "RecursionError": "invalid_payload",
    "JSONDecodeError": "invalid_payload",
    "SerializationFailure": "concurrency",
    "DeadlockDetected": "concurrency",
    "LockNotAvailable": "concurrency",
}


def register_exception_type(name, code):
    """Classify errors of the exception type ``name`` (a protocol layer's own) as ``code`` when no
    pattern decides: a channel's addon registers its types when it loads."""
    if code not in CLASSES:
        raise ValueError(f"unknown failure class {code!r}: one of {', '.join(CLASSES)}")
    EXCEPTION_TYPES[name] = code


_URL = re.compile(r"\b(?:https?|sftp|gid)://\S+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|«[^»\n]*»")
_STATUS = re.compile(r"\b(answered|status|http)\s+([1-5]\d\d)\b", re.IGNORECASE)
_HEX = re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.IGNORECASE)
_REF = re.compile(r"\b(?=[\w-]*\d)[A-Za-z0-9]+(?:[-_/.:][A-Za-z0-9]+)+\b|\b[A-Za-z]{1,6}\d{2,}\b")
_NUMBER = re.compile(r"(?<![\w<])\d+(?:[.,]\d+)*")
_SPACES = re.compile(r"\s+")


def normalise(message):
    """Return the message lower-cased, with ids, numbers, URLs, e-mails and quoted values as placeholders.

    HTTP statuses after "answered"/"status" are kept (as ``http429``): they tell causes apart.
    """
    text = (message or "")[:2000]
    text = _URL.sub(" <url> ", text)
    text = _EMAIL.sub(" <email> ", text)
    text = _QUOTED.sub(" <val> ", text)
    text = _STATUS.sub(lambda m: "%s http%s" % (m.group(1), m.group(2)), text)
    text = _HEX.sub(" <id> ", text)
    text = _REF.sub(lambda m: m.group(0) if m.group(0).lower().startswith("http") else " <ref> ", text)
    text = _NUMBER.sub(" <num> ", text)
    return _SPACES.sub(" ", text).strip().lower()


@dataclass
class Example:
    """A labelled message of the seed corpus."""

    code: str
    kind: str
    message: str


def load_corpus(path=SEED_CORPUS):
    """Return the labelled examples of a TSV file: class code, error kind, message."""
    examples = []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            if not row or row[0].startswith("#"):
                continue
            code, kind, message = row[0].strip(), row[1].strip(), "\t".join(row[2:]).strip()
            if code not in CLASSES:
                raise ValueError("%s: unknown failure class %r for %r" % (path, code, message))
            examples.append(Example(code, kind, message.replace("\\n", "\n")))
    return examples


@dataclass
class Classification:
    """A failure's class, with how sure we are, the suggested fix and the evidence."""

    code: str
    confidence: float
    method: str  # "rule" or "nearest examples"
    evidence: list = field(default_factory=list)
    normalised: str = ""

    @property
    def label(self):
        return CLASSES[self.code].label

    @property
    def fix(self):
        return CLASSES[self.code].fix

    def explain(self):
        """Return the evidence as readable lines."""
        head = "%s (%d%% sure, by %s)" % (self.label, round(self.confidence * 100), self.method)
        return "\n".join([head, *("- %s" % line for line in self.evidence)])


class _Vectoriser:
    """Word and character n-gram TF-IDF of normalised messages, one L2-normalised vector each."""

    def __init__(self, texts):
        from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415 - heavy, loaded on use

        self.words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                     token_pattern=r"<?\w+>?")
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        self.words.fit(texts)
        self.chars.fit(texts)

    def transform(self, texts):
        from scipy.sparse import hstack  # noqa: PLC0415
        from sklearn.preprocessing import normalize  # noqa: PLC0415

        return normalize(hstack([self.words.transform(texts), self.chars.transform(texts)]).tocsr())


class FailureClassifier:
    """Classifies error messages by rules, then by their nearest labelled examples.

    ``use_rules=False`` classifies by the examples alone (to measure what the rules add).
    """

    def __init__(self, examples=None, k=3, min_similarity=0.2, use_rules=True):
        self.examples = list(examples) if examples is not None else load_corpus()
        self.k = k
        self.min_similarity = min_similarity
        self.use_rules = use_rules
        texts = [normalise(e.message) for e in self.examples]
        self._vectoriser = _Vectoriser(texts)
        self._matrix = self._vectoriser.transform(texts)

    def vectors(self, messages):
        """Return the normalised TF-IDF vectors (a sparse matrix, one row per message)."""
        return self._vectoriser.transform([normalise(m) for m in messages])

    def nearest(self, message, count=3):
        """Return the ``count`` most similar labelled examples as (similarity, example)."""
        scores = (self._matrix @ self.vectors([message]).T).toarray().ravel()
        order = scores.argsort()[::-1][:count]
        return [(float(scores[i]), self.examples[i]) for i in order]

    def classify(self, message, kind=None):
        """Return the Classification of one error (its message and, when known, its kind)."""
        message = message or ""
        neighbours = self.nearest(message, self.k)
        evidence_examples = [
            "%.2f similar to [%s] %s" % (score, example.code, _cut(example.message)) for score, example in neighbours
        ]
        normalised = normalise(message)
        if self.use_rules:
            for rule in RULES:
                why = rule.match(kind, message)
                if why:
                    agree = neighbours and neighbours[0][1].code == rule.code
                    confidence = 0.9 + (0.1 * neighbours[0][0] if agree else 0.0)
                    return Classification(rule.code, min(confidence, 1.0), "rule",
                                          ["rule '%s': %s" % (rule.name, why), *evidence_examples[:1]], normalised)
            if kind in EXCEPTION_TYPES:
                code = EXCEPTION_TYPES[kind]
                agree = neighbours and neighbours[0][1].code == code
                return Classification(code, 0.8 + (0.2 * neighbours[0][0] if agree else 0.0), "rule",
                                      ["error type %s" % kind, *evidence_examples[:1]], normalised)
        votes = {}
        for score, example in neighbours:
            if score >= self.min_similarity:
                votes[example.code] = votes.get(example.code, 0.0) + score
        if not votes:
            return Classification("other", 0.0, "nearest examples",
                                  ["no labelled example is similar enough (best %.2f)" % (neighbours[0][0] if neighbours else 0)]
                                  + evidence_examples, normalised)
        code = max(votes, key=votes.get)
        share = votes[code] / sum(votes.values())
        best = max(score for score, example in neighbours if example.code == code)
        return Classification(code, round(share * best, 3), "nearest examples", evidence_examples, normalised)

    def similarity(self, messages, message):
        """Return the similarity of ``message`` to each of ``messages`` (0 to 1).

        Half the whole message, half its head (first words): templates that differ only by what
        they are about ("Payment gateway ... is not mapped" and "Shipping method ... is not mapped")
        stay apart, values and ids do not split a cluster.
        """
        whole = (self.vectors(messages) @ self.vectors([message]).T).toarray().ravel()
        head = (self.vectors([_head(m) for m in messages]) @ self.vectors([_head(message)]).T).toarray().ravel()
        return 0.5 * whole + 0.5 * head

    def cluster(self, message, leaders, threshold=0.6):
        """Return (cluster key, similarity) of a message given the current leaders {key: message}.

        The message joins the most similar leader at or above ``threshold``; otherwise it leads a new
        cluster whose key is its own normalised first line.
        """
        own = cluster_key(message)
        if own in leaders:
            return own, 1.0
        if leaders:
            keys = list(leaders)
            similarity = self.similarity([leaders[k] for k in keys], message)
            best = int(similarity.argmax())
            if similarity[best] >= threshold:
                return keys[best], float(similarity[best])
        return own, 1.0

    def cluster_all(self, messages, threshold=0.6):
        """Return the cluster key of each message, leaders chosen in order (a batch of new failures)."""
        leaders, keys = {}, []
        for message in messages:
            key, _similarity = self.cluster(message, leaders, threshold)
            leaders.setdefault(key, message)
            keys.append(key)
        return keys


def cluster_key(message):
    """Return the key a message gives the cluster it leads: its normalised first line, shortened."""
    first = (message or "").strip().splitlines()[0] if (message or "").strip() else ""
    return normalise(first)[:160]


def _head(message, words=4):
    return " ".join(normalise(message).split()[:words])


def _cut(text, size=140):
    text = _SPACES.sub(" ", text or "").strip()
    return text if len(text) <= size else text[: size - 1] + "…"


_DEFAULT = None


def default_classifier():
    """Return the classifier trained on the shipped seed corpus (built once per process)."""
    global _DEFAULT  # noqa: PLW0603 - a per-process cache of an immutable model
    if _DEFAULT is None:
        _DEFAULT = FailureClassifier()
    return _DEFAULT
