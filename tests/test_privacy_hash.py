"""Known answers for the salted patient-id hash and the identifying-keyword list."""

from __future__ import annotations

import hashlib
import re

from pydicom.datadict import tag_for_keyword

from saliency_audit.privacy import IDENTIFYING_KEYWORDS, hash_patient_id


def test_hash_is_deterministic_16_hex_chars_and_matches_the_definition():
    h = hash_patient_id("PAT-001", "s3cret")
    assert h == hash_patient_id("PAT-001", "s3cret")
    assert re.fullmatch(r"[0-9a-f]{16}", h)
    assert h == hashlib.sha256(b"s3cret\x00PAT-001").hexdigest()[:16]


def test_hash_depends_on_salt_and_id():
    assert hash_patient_id("PAT-001", "salt-a") != hash_patient_id("PAT-001", "salt-b")
    ids = [f"PAT-{i:04d}" for i in range(1000)]
    assert len({hash_patient_id(i, "salt") for i in ids}) == len(ids)
    assert hash_patient_id("ab", "c") != hash_patient_id("a", "bc")  # separator between parts
    assert hash_patient_id("c", "ab") != hash_patient_id("bc", "a")


def test_empty_id_is_hashed_as_given():
    assert hash_patient_id("", "salt") == hashlib.sha256(b"salt\x00").hexdigest()[:16]
    assert hash_patient_id("", "salt") != hash_patient_id("", "other")


def test_identifying_keywords_are_real_dicom_keywords():
    required = {
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientAddress",
        "InstitutionName",
        "ReferringPhysicianName",
        "AccessionNumber",
        "OtherPatientIDs",
    }
    assert required <= set(IDENTIFYING_KEYWORDS)
    assert len(set(IDENTIFYING_KEYWORDS)) == len(IDENTIFYING_KEYWORDS)
    assert all(tag_for_keyword(k) is not None for k in IDENTIFYING_KEYWORDS)
