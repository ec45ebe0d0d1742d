"""X12 data dictionary (004010 and 005010) for the sets Crossdock exchanges.

850, 855, 856, 810, 860, 997 and 999 (005010), plus the TA1 segment. Structures list the
segments the standard defines for each set in their order, so a segment out of place or
foreign to the set is reported; element rules are given for the segments that carry the
business data (others are checked for placement only). Code lists are the standard's
key qualifiers; open lists (units of measure, product id qualifiers) are left open.
"""

from __future__ import annotations

from connectors.formats.dictionary import (
    MessageDef,
    SegmentDef,
    parse_structure,
    parse_x12_elements,
)

__all__ = ["CODES", "SEGMENTS", "SETS", "TAGS"]


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


CODES: dict[str, frozenset[str]] = {
    "143": _codes("810 820 832 846 850 852 855 856 860 865 997 999"),
    "353": _codes("00 01 02 03 04 05 06 07 08 10 11 12 13 14 15 16 17 18 19 20 21 22 24 25 "
                  "26 27 28 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 "
                  "51 52 53 54 55 56 77 CN CO EX GR PR RH SU"),
    "92": _codes("BE BK BL BY CF CN CO CP DR DS EO IN KB KC KN LB LS NE NP OS PR RC RE RL RO "
                 "RR SA SD SP SS ST SW TC UD US WO ZZ"),
    "587": _codes("AC AD AE AH AK AP AT NA RD RF RJ RN RO RV ZZ"),
    "668": _codes("AA AC AR BP DR IA IB IC ID IE IF IH IP IQ IR IS IW R1 R2 R3 R4 R5 R6 R7 "
                  "R8 SP"),
    "98": _codes("1P 2L 31 40 41 92 AG BO BS BT BY CA CN CS DA DB DS EN EV FR IC II LI LW "
                 "MA MF MP OB OO PF PJ PK PN PR PW RC RE RI RL SE SF SH SJ SN SO ST SU TO UC "
                 "UD VC VN WD WH WS XX Z7 ZZ"),
    "735": _codes("D E F G I O P Q S T V"),
    "248": _codes("A C N"),
    "717": _codes("A E M P R W X"),
    "715": _codes("A E M P R W X"),
    "720": _codes("1 2 3 4 5 6 7 8 I4 I6 I7 I8 I9"),
    "620": _codes("1 2 3 4 5 6 7 8 I4 I6 I7 I8 I9"),
    "723": _codes("1 2 3 4 5 6 7 8 9 10 12 13 I6 I9 I10 I11 I12 I13"),
    "621": _codes("1 2 3 4 5 6 7 8 9 10 12 13 I6 I9 I10 I11 I12 I13"),
    "17": _codes("A E R"),
    "I18": frozenset(f"{n:03d}" for n in range(32)),
    "479": _codes("AG FA IN PC PO PR SH CA"),
}

_E = parse_x12_elements
SEGMENTS: dict[str, SegmentDef] = {tag: SegmentDef(tag, _E(spec)) for tag, spec in {
    "ST": "M ID 3 3 @143; M AN 4 9; O AN 1 35",
    "SE": "M N0 1 10; M AN 4 9",
    "BEG": "M ID 2 2 @353; M ID 2 2 @92; M AN 1 22; O AN 1 30; M DT 8 8; O AN 1 30; "
           "O ID 2 2; O ID 3 3",
    "BCH": "M ID 2 2 @353; M ID 2 2 @92; M AN 1 22; O AN 1 30; O AN 1 30; M DT 8 8; "
           "O AN 1 30; O AN 1 45; O ID 2 2; O DT 8 8; O DT 8 8",
    "BAK": "M ID 2 2 @353; M ID 2 2 @587; M AN 1 22; M DT 8 8; O AN 1 30; O AN 1 30; "
           "O AN 1 30; O AN 1 22; O DT 8 8",
    "BSN": "M ID 2 2 @353; M AN 2 30; M DT 8 8; M TM 4 8; O ID 4 4; O ID 2 2; O ID 2 2",
    "BIG": "M DT 8 8; M AN 1 22; O DT 8 8; O AN 1 22; O AN 1 30; O AN 1 8; O ID 2 2; "
           "O ID 2 2; O ID 2 2; O AN 1 22",
    "CUR": "M ID 2 3; M ID 3 3; O R 4 10",
    "REF": "M ID 2 3; O AN 1 50; O AN 1 80; O C",
    "PER": "M ID 2 2; O AN 1 60; O ID 2 2; O AN 1 256; O ID 2 2; O AN 1 256; O ID 2 2; "
           "O AN 1 256",
    "DTM": "M ID 3 3; O DT 8 8; O TM 4 8; O ID 2 2; O ID 2 3; O AN 1 35",
    "N1": "M ID 2 3 @98; O AN 1 60; O ID 1 2; O AN 2 80; O ID 2 2; O ID 2 3",
    "N2": "M AN 1 60; O AN 1 60",
    "N3": "M AN 1 55; O AN 1 55",
    "N4": "O AN 2 30; O ID 2 2; O ID 3 15; O ID 2 3; O ID 1 2; O AN 1 30; O ID 1 3",
    "PO1": "O AN 1 20; O R 1 15; O ID 2 2; O R 1 17; O ID 2 2; O ID 2 2; O AN 1 48; "
           "O ID 2 2; O AN 1 48; O ID 2 2; O AN 1 48; O ID 2 2; O AN 1 48",
    "PID": "M ID 1 1; O ID 2 3; O ID 2 3; O AN 1 12; O AN 1 80; O ID 2 3",
    "PO4": "O N0 1 6; O R 1 8; O ID 2 2; O ID 3 5; O ID 1 3; O R 1 9; O ID 2 2",
    "SAC": "M ID 1 1 @248; O ID 4 4; O ID 2 2; O AN 1 10; O N2 1 15; O ID 1 1; O R 1 6; "
           "O R 1 9; O ID 2 2; O R 1 15; O R 1 15; O ID 2 2; O AN 1 30; O AN 1 30; "
           "O AN 1 80",
    "CTT": "M N0 1 6; O R 1 10; O R 1 10; O ID 2 2; O R 1 8; O ID 2 2; O AN 1 80",
    "AMT": "M ID 1 3; M R 1 18; O ID 1 1",
    "ACK": "M ID 2 2 @668; O R 1 15; O ID 2 2; O ID 3 3; O DT 8 8; O AN 1 30; O ID 2 2; "
           "O AN 1 48; O ID 2 2; O AN 1 48",
    "POC": "O AN 1 20; M ID 2 2; O R 1 15; O R 1 15; O ID 2 2; O R 1 17; O ID 2 2; "
           "O ID 2 2; O AN 1 48; O ID 2 2; O AN 1 48",
    "HL": "M AN 1 12; O AN 1 12; M ID 1 2 @735; O ID 1 1",
    "LIN": "O AN 1 20; M ID 2 2; M AN 1 48; O ID 2 2; O AN 1 48; O ID 2 2; O AN 1 48",
    "SN1": "O AN 1 20; M R 1 10; M ID 2 2; O R 1 15; O R 1 9; O ID 2 2; O ID 2 2; O ID 2 2",
    "PRF": "M AN 1 22; O AN 1 30; O AN 1 8; O DT 8 8",
    "TD1": "O AN 3 5; O N0 1 7; O ID 1 1; O ID 1 2; O AN 1 50; O ID 1 2; O R 1 10; "
           "O ID 2 2; O R 1 8; O ID 2 2",
    "TD5": "O ID 1 2; O ID 1 2; O AN 2 80; O ID 1 2; O AN 1 35; O ID 2 2; O ID 1 2; "
           "O AN 1 30",
    "MAN": "M ID 1 2; M AN 1 48; O AN 1 48",
    "IT1": "O AN 1 20; O R 1 10; O ID 2 2; O R 1 17; O ID 2 2; O ID 2 2; O AN 1 48; "
           "O ID 2 2; O AN 1 48; O ID 2 2; O AN 1 48",
    "TDS": "M N2 1 15; O N2 1 15; O N2 1 15; O N2 1 15",
    "TXI": "M ID 2 2; O R 1 18; O R 1 10; O ID 1 2; O AN 1 30; O ID 1 1; O ID 1 1; "
           "O R 1 9; O AN 1 20; O AN 1 20",
    "ITD": "O ID 2 2; O ID 1 2; O R 1 6; O DT 8 8; O N0 1 3; O DT 8 8; O N0 1 3; O N2 1 10",
    "AK1": "M ID 2 2 @479; M N0 1 9; O AN 1 12",
    "AK2": "M ID 3 3 @143; M AN 4 9; O AN 1 35",
    "AK3": "M ID 2 3; M N0 1 10; O AN 1 4; O ID 1 3 @720",
    "AK4": "M C; O N0 1 4; M ID 1 3 @723; O AN 1 99",
    "AK5": "M ID 1 1 @717; O ID 1 3; O ID 1 3; O ID 1 3; O ID 1 3; O ID 1 3",
    "AK9": "M ID 1 1 @715; M N0 1 6; M N0 1 6; M N0 1 6; O ID 1 3; O ID 1 3; O ID 1 3; "
           "O ID 1 3; O ID 1 3",
    "IK3": "M ID 2 3; M N0 1 10; O AN 1 4; O ID 1 3 @620",
    "IK4": "M C; O N0 1 4; M ID 1 3 @621; O AN 1 99",
    "IK5": "M ID 1 1 @717; O ID 1 3; O ID 1 3; O ID 1 3; O ID 1 3; O ID 1 3",
    "CTX": "M C; O ID 2 3; O N0 1 10; O AN 1 4; O C; O C",
    "TA1": "M N0 9 9; M DT 6 6; M TM 4 4; M ID 1 1 @17; M ID 3 3 @I18",
}.items()}

# Segments a PO1/POC line loop may carry in 850, 855 and 860 (placement only).
_LINE = """
  LIN O >1
  SI O >1
  CUR O 1
  CN1 O 1
  PO3 O 25
  CTP O >1
  MEA O 40
  +PID O 1000
    PID M 1
    MEA O 10
  PWK O 25
  PO4 O >1
  REF O >1
  PER O 3
  +SAC O 25
    SAC M 1
    CUR O 1
    CTP O 1
  IT8 O 1
  CSH O >1
  ITD O 2
  DIS O 20
  INC O 1
  TAX O >1
  FOB O >1
  SDQ O 500
  IT3 O 5
  DTM O 10
  TC2 O >1
  TD1 O 1
  TD5 O 12
  TD3 O 12
  TD4 O 5
  PCT O >1
  MAN O 10
  MSG O >1
  SPI O >1
  TXI O >1
  CTB O >1
"""
_LINE_TAIL = """
  +SCH O 104
    SCH M 1
    TD1 O 2
    TD5 O 12
    TD3 O 12
    TD4 O 5
    REF O >1
  PKG O 200
  +N9 O 1000
    N9 M 1
    DTM O >1
    MEA O 40
    MSG O 1000
  +N1 O 200
    N1 M 1
    N2 O 2
    N3 O 2
    N4 O 1
    QTY O >1
    NX2 O >1
    REF O 12
    PER O 3
    SI O >1
    DTM O 1
    FOB O 1
    SCH O 200
    TD1 O 2
    TD5 O 12
    TD3 O 12
    TD4 O 5
    PKG O 200
  +SLN O 1000
    SLN M 1
    MSG O >1
    SI O >1
    PID O 1000
    PO3 O 104
    TC2 O >1
    ADV O >1
    DTM O 10
    CTP O 25
    PO4 O 1
    TAX O 3
    N9 O >1
    SAC O 25
    QTY O >1
    N1 O 10
  +AMT O >1
    AMT M 1
    REF O 1
    PCT O >1
"""
# Header segments shared by 850, 855 and 860 after their beginning segment.
_HEAD = """
CUR O 1
REF O >1
PER O 3
TAX O >1
FOB O >1
CTP O >1
PAM O 10
CSH O 5
TC2 O >1
+SAC O 25
  SAC M 1
  CUR O 1
ITD O >1
DIS O 20
INC O 1
DTM O 10
LDT O 12
LIN O 5
SI O >1
PID O 200
MEA O 40
PWK O 25
PKG O 200
TD1 O 2
TD5 O 12
TD3 O 12
TD4 O 5
MAN O 10
PCT O >1
CTB O 5
TXI O >1
+N9 O 1000
  N9 M 1
  DTM O >1
  MSG O 1000
+N1 O 200
  N1 M 1
  N2 O 2
  N3 O 2
  N4 O >1
  NX2 O >1
  REF O 12
  PER O >1
  SI O >1
  FOB O 1
  TD1 O 2
  TD5 O 12
  TD3 O 12
  TD4 O 5
  PKG O 200
"""
_SUMMARY = """
+CTT O 1
  CTT M 1
  AMT O 1
SE M 1
"""

SETS: dict[str, MessageDef] = {
    "850": parse_structure("850", "ST M 1\nBEG M 1" + _HEAD + "+PO1 M >1\n  PO1 M 1" + _LINE
                           + "  +QTY O >1\n    QTY M 1\n    SI O >1" + _LINE_TAIL + _SUMMARY),
    "855": parse_structure("855", "ST M 1\nBAK M 1" + _HEAD + "+PO1 O >1\n  PO1 M 1" + _LINE
                           + "  +ACK O 104\n    ACK M 1\n    DTM O 10" + _LINE_TAIL + _SUMMARY),
    "860": parse_structure("860", "ST M 1\nBCH M 1" + _HEAD + "+POC O >1\n  POC M 1" + _LINE
                           + "  +QTY O >1\n    QTY M 1\n    SI O >1" + _LINE_TAIL + _SUMMARY),
    "856": parse_structure("856", """
ST M 1
BSN M 1
DTM O 10
+HL M >1
  HL M 1
  LIN O 1
  SN1 O 1
  SLN O >1
  PRF O 1
  PO4 O 1
  PID O 200
  MEA O 40
  PWK O 25
  PKG O 25
  TD1 O 20
  TD5 O 12
  TD3 O 12
  TD4 O 5
  TSD O 1
  REF O >1
  PER O 3
  +CLD O 200
    CLD M 1
    REF O 200
    DTM O 1
  MAN O >1
  DTM O 10
  FOB O 1
  PAL O 1
  +N1 O 200
    N1 M 1
    N2 O 2
    N3 O 2
    N4 O 1
    REF O 12
    PER O 3
    FOB O 1
  SDQ O 50
  ETD O 1
  CUR O 1
  SAC O >1
CTT O 1
SE M 1
"""),
    "810": parse_structure("810", """
ST M 1
BIG M 1
NTE O 100
CUR O 1
REF O 12
YNQ O 10
PER O 3
+N1 O 200
  N1 M 1
  N2 O 2
  N3 O 2
  N4 O 1
  REF O 12
  PER O 3
  DMG O 1
ITD O >1
DTM O 10
FOB O 1
PID O 200
MEA O 40
PWK O 25
PKG O 25
L7 O 1
+IT1 O 200000
  IT1 M 1
  CRC O 1
  QTY O 5
  CUR O 1
  IT3 O 5
  TXI O 10
  CTP O 25
  PAM O 10
  MEA O 40
  +PID O 1000
    PID M 1
    MEA O 10
  PWK O 25
  PKG O 25
  PO4 O 1
  ITD O 2
  REF O >1
  YNQ O 10
  PER O 5
  SDQ O 500
  DTM O 10
  CAD O >1
  L7 O >1
  SR O 1
  +SAC O 25
    SAC M 1
    TXI O 10
  +SLN O 1000
    SLN M 1
    DTM O 1
    REF O >1
    PID O 1000
    SAC O 25
    TC2 O >1
    TXI O 10
  +N1 O 200
    N1 M 1
    N2 O 2
    N3 O 2
    N4 O 1
    REF O 12
    PER O 3
    DMG O 1
TDS M 1
TXI O 10
CAD O 1
AMT O >1
+SAC O 25
  SAC M 1
  TXI O 10
+ISS O >1
  ISS M 1
  PID O 1
CTT O 1
SE M 1
"""),
    "997": parse_structure("997", """
ST M 1
AK1 M 1
+AK2 O >1
  AK2 M 1
  +AK3 O >1
    AK3 M 1
    AK4 O 99
  AK5 M 1
AK9 M 1
SE M 1
"""),
    "999": parse_structure("999", """
ST M 1
AK1 M 1
+AK2 O >1
  AK2 M 1
  +IK3 O >1
    IK3 M 1
    CTX O 10
    +IK4 O 99
      IK4 M 1
      CTX O 10
  IK5 M 1
AK9 M 1
SE M 1
"""),
}

TAGS: frozenset[str] = frozenset().union(*(s.tags for s in SETS.values()), SEGMENTS)
