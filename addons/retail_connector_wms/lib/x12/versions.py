# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl-3.0).
"""The X12 releases the connector speaks with a warehouse: 004010 and 005010, chosen per partner.

For the six transaction sets exchanged here (940, 943, 945, 944, 846 and 997) the two
releases differ in:

- the envelope: ISA11 is the Interchange Control Standards Identifier ``U`` in 004010 and
  the repetition separator (``^`` here) in 005010; ISA12 is ``00401`` / ``00501``; GS08 is
  ``004010`` / ``005010`` (an implementation guide may add a suffix such as ``004010UCS``,
  read as its release);
- ST: 005010 adds ST03, the Implementation Convention Reference (optional);
- 997: 005010 adds AK2-03 (the implementation convention of the set acknowledged) and makes
  AK4-01 a composite of the element position, the component position and the repetition
  position (004010: element position and component position);
- the warehouse segments used by these sets (W05, W06, W12, W17, W07, W04, W03, W76, W27,
  N1..N4, N9, G62, LIN, QTY, BIA, CTT) keep the element positions the connector reads and
  writes; what 005010 added to them are trailing optional elements, which the reader
  accepts and the writer does not send.

``VERSIONS`` names each release's envelope values; ``release_of`` maps a GS08 value to one.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Release:
    """One X12 release: its GS08 code, ISA12 version and what ISA11 holds."""

    code: str
    isa_version: str
    isa11: str
    label: str


VERSIONS = {
    "004010": Release("004010", "00401", "U", "004010 (ISA11 U: U.S. EDI community standards)"),
    "005010": Release("005010", "00501", "^", "005010 (ISA11: repetition separator ^)"),
}
DEFAULT_VERSION = "004010"
ISA_VERSIONS = {release.isa_version: release for release in VERSIONS.values()}


def release_of(gs08: str) -> Release | None:
    """Return the release a GS08 version code belongs to (``004010UCS`` is 004010), or None."""
    for code, release in VERSIONS.items():
        if (gs08 or "").startswith(code):
            return release
    return None


def release(code: str) -> Release:
    """Return the release ``code`` (``004010`` or ``005010``); raise ValueError naming the choices."""
    try:
        return VERSIONS[code or DEFAULT_VERSION]
    except KeyError:
        raise ValueError(f"X12 release {code!r} is not supported: use one of {', '.join(VERSIONS)}") from None
