"""Operations features of the hub: reference data, revisions, detection, cases, SLA timers."""
