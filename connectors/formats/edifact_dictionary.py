"""UN/EDIFACT D96A data dictionary for ORDERS, ORDCHG, ORDRSP, DESADV, INVOIC and CONTRL.

Structures name each segment group by its D96A number; element rules cover the segments
wholesale documents carry (NAD, LIN, PIA, QTY, PRI, CPS, PAC, GIN ...). Later directories
(D01B) add segments and groups: in a message that does not declare D96A, a segment this
dictionary does not know is passed over rather than reported.
"""

from __future__ import annotations

from connectors.formats.dictionary import (
    MessageDef,
    SegmentDef,
    parse_edifact_elements,
    parse_structure,
)

__all__ = ["CODES", "SEGMENTS", "SETS", "STRICT_VERSIONS", "TAGS"]

STRICT_VERSIONS = frozenset(("D96A",))


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


CODES: dict[str, frozenset[str]] = {
    "0065": _codes("ORDERS ORDCHG ORDRSP DESADV INVOIC CONTRL"),
    "0081": _codes("D S"),
    "0083": _codes("4 7 8"),
    "0085": frozenset(str(n) for n in range(1, 50)),
    "1225": frozenset(str(n) for n in range(1, 57)),
    "2379": _codes("2 3 4 5 101 102 103 104 105 106 107 108 109 110 201 202 203 204 205 301 "
                   "302 303 304 305 306 401 402 404 405 501 502 503 504 600 601 602 603 604 "
                   "608 609 610 613 614 615 616 701 702 703 704 705 706 707 708 709 710 711 "
                   "712 713 715 716 717 718 719 720 801 802 803 804 805 806 807 808 809 810 "
                   "811 812 813 814 815 816 817 818 819 820 821"),
    "5463": _codes("A C N"),
}

_E = parse_edifact_elements
_PARTY = "C [C an..35, C an..3, C an..3]"
SEGMENTS: dict[str, SegmentDef] = {tag: SegmentDef(tag, _E(spec)) for tag, spec in {
    "UNH": "M an..14; M [M an..6 @0065, M an..3, M an..3, M an..2, C an..6]; C an..35; "
           "C [M n..2, C a1]",
    "UNT": "M n..6; M an..14",
    "BGM": "C [C an..3, C an..3, C an..3, C an..35]; C an..35; C an..3 @1225; C an..3",
    "DTM": "M [M an..3, C an..35, C an..3 @2379]",
    "NAD": "M an..3; C [M an..35, C an..3, C an..3]; C [M an..35, C an..35, C an..35, "
           "C an..35, C an..35]; C [M an..35, C an..35, C an..35, C an..35, C an..35, C an..3]; "
           "C [M an..35, C an..35, C an..35, C an..35]; C an..35; C an..9; C an..9; C an..3",
    "LIN": "C an..6; C an..3; C [M an..35, C an..3, C an..3, C an..3]; C [M an..3, M n..6]; "
           "C n..2; C an..3",
    "PIA": "M an..3; M [M an..35, C an..3, C an..3, C an..3]; C [M an..35, C an..3, C an..3, "
           "C an..3]; C [M an..35, C an..3, C an..3, C an..3]; C [M an..35, C an..3, "
           "C an..3, C an..3]; C [M an..35, C an..3, C an..3, C an..3]",
    "IMD": "C an..3; C an..3; C [C an..17, C an..3, C an..3, C an..256, C an..256, C an..3]; "
           "C an..3; C an..3; C an..3",
    "QTY": "M [M an..3, M n..15, C an..3]",
    "PRI": "C [M an..3, C n..15, C an..3, C an..3, C n..9, C an..3]; C an..3",
    "MOA": "M [M an..3, C n..18, C an..3, C an..3, C an..3]",
    "RFF": "M [M an..3, C an..35, C an..6, C an..35]",
    "CUX": "C [M an..3, C an..3, C an..3, C n..4]; C [M an..3, C an..3, C an..3, C n..4]; "
           "C n..12; C an..3",
    "TAX": "M an..3; C [C an..3, C an..3, C an..3, C an..35]; C [C an..6, C an..3, C an..3]; "
           "C an..15; C [C an..17, C an..3, C an..3, C an..35, C an..17]; C an..3; C an..20",
    "ALC": "M an..3 @5463; C [C an..35, C an..3]; C an..3; C an..3; C [C an..3, C an..3, "
           "C an..3, C an..35, C an..35]",
    "CPS": "M an..12; C an..12; C an..3",
    "PAC": "C n..8; C [C an..3, C an..3]; C [C an..17, C an..3, C an..3, C an..35, C an..17]; "
           "C [C an..3, C an..3, C an..3]; C [M an..3, C an..3]",
    "GIN": "M an..3; M [M an..35, C an..35]; C [M an..35, C an..35]; C [M an..35, C an..35]; "
           "C [M an..35, C an..35]; C [M an..35, C an..35]",
    "UNS": "M a1 @0081",
    "CNT": "M [M an..3, M n..18, C an..3]",
    "FTX": "M an..3; C an..3; C [M an..17, C an..3, C an..3]; C [M an..70, C an..70, "
           "C an..70, C an..70, C an..70]; C an..3",
    "LOC": "M an..3; C [C an..25, C an..3, C an..3, C an..70]; C [C an..25, C an..3, "
           "C an..3, C an..70]; C [C an..25, C an..3, C an..3, C an..70]; C an..3",
    "CTA": "C an..3; C [C an..17, C an..35]",
    "COM": "M [M an..512, M an..3]",
    "MEA": "M an..3; C [C an..3, C an..17, C an..3, C an..3]; C [M an..3, C n..18, C n..18, "
           "C n..18]; C an..3",
    "UCI": "M an..14; M [M an..35, C an..4, C an..14]; M [M an..35, C an..4, C an..14]; "
           "M an..3 @0083; C an..3 @0085; C an..3; C [M n..3, C n..3, C n..6]",
    "UCM": "M an..14; M [M an..6, M an..3, M an..3, M an..2, C an..6]; M an..3 @0083; "
           "C an..3 @0085; C an..3; C [M n..3, C n..3, C n..6]",
    "UCS": "M n..6; C an..3 @0085",
    "UCD": "M an..3 @0085; M [M n..3, C n..3, C n..6]",
    "ALI": "C an..3; C an..3; C an..3; C an..3; C an..3; C an..3; C an..3",
    "PAT": "M an..3; C [M an..17, C an..3, C an..3, C an..35, C an..35]; "
           "C [M an..3, C an..3, C an..3, C n..3]",
    "TDT": "M an..3; C an..17; C [C an..3, C an..17]; C [C an..8, C an..17]; "
           "C [C an..17, C an..3, C an..3, C an..35]",
    "TOD": "C an..3; C an..3; C [C an..3, C an..3, C an..3, C an..70, C an..70]",
    "PCI": "C an..3; C [M an..35, C an..35, C an..35, C an..35, C an..35, C an..35, "
           "C an..35, C an..35, C an..35, C an..35]; C an..3; C [M an..3, C an..3, C an..3]",
}.items()}

_PARTY_GROUP = """
  +SG2 C 99
    NAD M 1
    LOC C 25
    FII C 5
    +SG3 C 10
      RFF M 1
      DTM C 5
    +SG4 C 5
      DOC M 1
      DTM C 5
    +SG5 C 5
      CTA M 1
      COM C 5
"""
# Header of ORDERS, ORDCHG and ORDRSP (SG1 to SG24).
_ORDER_HEAD = """UNH M 1
BGM M 1
DTM M 35
PAI C 1
ALI C 5
IMD C 1
FTX C 99
+SG1 C 10
  RFF M 1
  DTM C 5
""" + _PARTY_GROUP.replace("\n  ", "\n") + """+SG6 C 5
  TAX M 1
  MOA C 1
  LOC C 5
+SG7 C 5
  CUX M 1
  PCD C 5
  DTM C 5
+SG8 C 10
  PAT M 1
  DTM C 5
  PCD C 1
  MOA C 1
+SG9 C 10
  TDT M 1
  +SG10 C 10
    LOC M 1
    DTM C 5
+SG11 C 5
  TOD M 1
  LOC C 2
+SG12 C 10
  PAC M 1
  MEA C 5
  +SG13 C 5
    PCI M 1
    RFF C 1
    DTM C 5
    GIN C 10
+SG14 C 10
  EQD M 1
  HAN C 5
  MEA C 5
  FTX C 5
+SG15 C 10
  SCC M 1
  FTX C 5
  RFF C 5
+SG17 C 25
  APR M 1
  DTM C 5
  RNG C 1
+SG18 C 15
  ALC M 1
  ALI C 5
  DTM C 5
  +SG19 C 1
    QTY M 1
    RNG C 1
  +SG20 C 1
    PCD M 1
    RNG C 1
  +SG21 C 2
    MOA M 1
    RNG C 1
  +SG23 C 5
    TAX M 1
    MOA C 1
+SG24 C 25
  RCS M 1
  RFF C 5
  DTM C 5
  FTX C 5
"""
# The line group of ORDERS, ORDCHG and ORDRSP (SG25 in ORDERS).
_ORDER_LINE = """+SG25 C 200000
  LIN M 1
  PIA C 25
  IMD C 99
  MEA C 99
  QTY C 99
  PCD C 5
  ALI C 5
  DTM C 35
  MOA C 10
  GIN C 127
  GIR C 1000
  QVR C 1
  DOC C 5
  PAI C 1
  FTX C 99
  +SG28 C 25
    PRI M 1
    CUX C 1
    APR C 1
    RNG C 1
    DTM C 5
  +SG29 C 10
    RFF M 1
    DTM C 5
  +SG30 C 10
    PAC M 1
    MEA C 5
    QTY C 5
    DTM C 5
    +SG32 C 10
      PCI M 1
      RFF C 1
      DTM C 5
      GIN C 10
  +SG33 C 9999
    LOC M 1
    QTY C 1
    DTM C 5
  +SG34 C 10
    TAX M 1
    MOA C 1
    LOC C 5
""" + _PARTY_GROUP.replace("SG2 C", "SG35 C").replace("SG3 C", "SG36 C").replace(
    "SG4 C", "SG37 C").replace("SG5 C", "SG38 C") + """  +SG39 C 15
    ALC M 1
    ALI C 5
    DTM C 5
    +SG40 C 1
      QTY M 1
      RNG C 1
    +SG41 C 1
      PCD M 1
      RNG C 1
    +SG42 C 2
      MOA M 1
      RNG C 1
  +SG44 C 10
    TDT M 1
  +SG46 C 5
    TOD M 1
    LOC C 2
  +SG47 C 10
    EQD M 1
    HAN C 5
  +SG48 C 100
    SCC M 1
    FTX C 5
    RFF C 5
UNS M 1
MOA C 12
CNT C 10
+SG52 C 10
  ALC M 1
  ALI C 1
  MOA C 2
UNT M 1
"""

SETS: dict[str, MessageDef] = {
    "ORDERS": parse_structure("ORDERS", _ORDER_HEAD + _ORDER_LINE),
    "ORDCHG": parse_structure("ORDCHG", _ORDER_HEAD + _ORDER_LINE),
    "ORDRSP": parse_structure("ORDRSP", _ORDER_HEAD + _ORDER_LINE),
    "DESADV": parse_structure("DESADV", """UNH M 1
BGM M 1
DTM M 10
ALI C 5
MEA C 5
MOA C 5
+SG1 C 10
  RFF M 1
  DTM C 1
""" + _PARTY_GROUP.replace("\n  ", "\n").replace("SG4 C 5\n  DOC", "SG4X C 5\n  DOC") + """+SG5X C 10
  TOD M 1
  LOC C 2
+SG6 C 10
  TDT M 1
  PCD C 1
  +SG7 C 10
    LOC M 1
    DTM C 5
+SG8 C 10
  EQD M 1
  MEA C 5
  SEL C 25
+SG10 C 9999
  CPS M 1
  FTX C 5
  +SG11 C 9999
    PAC M 1
    MEA C 10
    QTY C 10
    +SG12 C 10
      HAN M 1
      FTX C 5
    +SG13 C 1000
      PCI M 1
      RFF C 1
      DTM C 5
      GIN C 10
  +SG15 C 9999
    LIN M 1
    PIA C 10
    IMD C 25
    MEA C 10
    QTY C 10
    ALI C 10
    GIN C 100
    GIR C 100
    DTM C 5
    FTX C 5
    MOA C 5
    +SG16 C 10
      RFF M 1
      DTM C 1
    +SG20 C 100
      PCI M 1
      DTM C 5
      MEA C 10
      QTY C 1
      GIN C 100
    +SG22 C 10
      QVR M 1
      DTM C 5
    +SG23 C 100
      LOC M 1
      NAD C 1
      DTM C 1
      QTY C 10
CNT C 10
UNT M 1
"""),
    "INVOIC": parse_structure("INVOIC", """UNH M 1
BGM M 1
DTM M 35
PAI C 1
ALI C 5
IMD C 1
FTX C 10
LOC C 10
+SG1 C 99
  RFF M 1
  DTM C 5
""" + _PARTY_GROUP.replace("\n  ", "\n") + """+SG6 C 5
  TAX M 1
  MOA C 1
  LOC C 5
+SG7 C 5
  CUX M 1
  DTM C 5
+SG8 C 10
  PAT M 1
  DTM C 5
  PCD C 1
  MOA C 1
+SG9 C 10
  TDT M 1
+SG11 C 5
  TOD M 1
  LOC C 2
+SG15 C 15
  ALC M 1
  ALI C 5
  +SG17 C 1
    PCD M 1
  +SG18 C 2
    MOA M 1
  +SG20 C 5
    TAX M 1
    MOA C 1
+SG25 C 9999999
  LIN M 1
  PIA C 25
  IMD C 10
  MEA C 5
  QTY C 5
  PCD C 1
  ALI C 5
  DTM C 35
  GIN C 1000
  GIR C 1000
  QVR C 1
  EQD C 1
  FTX C 5
  +SG26 C 99
    MOA M 1
    CUX C 1
  +SG28 C 25
    PRI M 1
    CUX C 1
    APR C 1
    RNG C 1
    DTM C 5
  +SG29 C 10
    RFF M 1
    DTM C 5
  +SG30 C 10
    PAC M 1
    MEA C 10
  +SG31 C 10
    LOC M 1
    QTY C 100
    DTM C 5
  +SG33 C 99
    TAX M 1
    MOA C 1
    LOC C 5
  +SG34 C 99
    NAD M 1
    LOC C 5
  +SG38 C 15
    ALC M 1
    ALI C 5
    DTM C 5
    +SG40 C 1
      PCD M 1
    +SG41 C 2
      MOA M 1
    +SG43 C 5
      TAX M 1
      MOA C 1
UNS M 1
CNT C 10
+SG48 M 100
  MOA M 1
  +SG49 C 1
    RFF M 1
    DTM C 5
+SG50 C 10
  TAX M 1
  MOA C 2
+SG51 C 15
  ALC M 1
  ALI C 1
  MOA C 2
UNT M 1
"""),
    "CONTRL": parse_structure("CONTRL", """UNH M 1
UCI M 1
+SG1 C 999999
  UCM M 1
  +SG2 C 999
    UCS M 1
    UCD C 99
UNT M 1
"""),
}

TAGS: frozenset[str] = frozenset().union(*(s.tags for s in SETS.values()), SEGMENTS)
