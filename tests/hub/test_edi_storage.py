"""EDI state on SQLite and PostgreSQL: control numbers are unique under concurrency."""

from __future__ import annotations

import threading

import pytest
from pydantic import ValidationError

from canonical.errors import ConfigurationError
from hub.edi.control import next_control_number
from hub.partners import PartnerProfile, profile_error
from hub.storage.db import Database


def test_control_numbers_never_repeat_across_threads(db: Database) -> None:
    got: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(25):
            with db.session() as s:
                n = next_control_number(s, "ACME", "isa")
            with lock:
                got.append(n)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 101))
    with db.session() as s:  # per partner and kind
        assert next_control_number(s, "EURODIS", "isa") == 1
        assert next_control_number(s, "ACME", "gs") == 1
        assert next_control_number(s, "ACME", "isa") == 101


def test_a_rolled_back_number_is_not_half_used(db: Database) -> None:
    with pytest.raises(RuntimeError), db.session() as s:
        next_control_number(s, "ACME", "st")
        raise RuntimeError("the interchange was never stored")
    with db.session() as s:
        assert next_control_number(s, "ACME", "st") == 1


@pytest.mark.parametrize(("edi", "field"), [
    ({"standard": "x12", "our_interchange_id": "XD"}, "edi.interchange_id"),
    ({"standard": "x12", "interchange_id": "A", "our_interchange_id": "XD", "version": "003040"}, "edi"),
    ({"standard": "edifact", "interchange_id": "A", "our_interchange_id": "XD", "functional_ack": "997"}, "edi"),
    ({"standard": "x12", "interchange_id": "A", "our_interchange_id": "XD", "transport": "directory"}, "edi"),
])
def test_profile_errors_name_partner_and_field(edi: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        PartnerProfile.model_validate({"id": "ACME", "name": "Acme", "edi": edi})
    error = profile_error(info.value, "ACME", "partners/acme.yaml")
    assert isinstance(error, ConfigurationError)
    assert "'ACME'" in str(error) and field in str(error)


def test_example_partner_profiles_load(db: Database) -> None:
    from pathlib import Path

    from hub.edi.profile import edi_profile
    from hub.partners import load_profile_files, partner_dict

    examples = Path(__file__).resolve().parents[2] / "partners"
    with db.session() as s:
        assert sorted(load_profile_files(s, examples)) == ["ACME", "EURODIS"]
    with db.reader() as s:
        acme = edi_profile(partner_dict(s, "ACME"))
        eurodis = edi_profile(partner_dict(s, "EURODIS"))
    assert acme is not None and acme.auto_respond == ["855", "856", "810"]
    assert eurodis is not None and eurodis.standard == "edifact" and eurodis.transport == "directory"
