"""EDI conversations through the hub: X12 and EDIFACT in and out, acknowledged and tracked.

Inbound: a transport stores the interchange raw (``hub.edi.receive``), the ingest stages
decode it (``hub.edi.decode``), and the outcome is recorded with its acknowledgments in the
job's own transaction (``hub.edi.record``). Outbound: ``hub.edi.outbound`` writes
interchanges with persisted control numbers; ``hub.edi.sender`` delivers them.

Usage:
    from hub.edi.profile import EdiProfile, edi_profile
"""
