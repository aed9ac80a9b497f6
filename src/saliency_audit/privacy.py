"""Patient privacy: what may leave a DICOM header, and the salted patient-id hash.

Policy
------
Nothing that identifies a person is copied from a DICOM header into ``results/``, logs or exception
messages. Each converted image keeps only

* an opaque image id (the dataset's own file-derived id, e.g. SIIM ``ImageId`` or RSNA
  ``patientId`` as it already appears in the public label CSV), and
* ``hash_patient_id(PatientID, salt)``: a salted, truncated SHA-256 of the *PatientID*, used only to
  keep all images of one patient in the same train/val/test split.

The raw *PatientID* lives in memory just long enough to be hashed. :data:`IDENTIFYING_KEYWORDS`
lists the DICOM keywords (after PS3.15 Annex E, the basic de-identification profile) that must
never be written anywhere; code that exports header fields must filter against it.
"""

from __future__ import annotations

import hashlib

#: DICOM keywords that identify a patient, a person involved in the study, an institution or a
#: device, or that can be linked back to one. Never copy these into outputs, logs or messages.
IDENTIFYING_KEYWORDS: tuple[str, ...] = (
    # patient
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "PatientBirthName",
    "PatientMotherBirthName",
    "PatientBirthDate",
    "PatientBirthTime",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientTelecomInformation",
    "PatientInsurancePlanCodeSequence",
    "MedicalRecordLocator",
    "MilitaryRank",
    "BranchOfService",
    "CountryOfResidence",
    "RegionOfResidence",
    "EthnicGroup",
    "Occupation",
    "PatientReligiousPreference",
    "PatientComments",
    "AdditionalPatientHistory",
    "ResponsiblePerson",
    "ResponsibleOrganization",
    # people and places involved in the study
    "ReferringPhysicianName",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansOfRecord",
    "OperatorsName",
    "RequestingPhysician",
    "ScheduledPerformingPhysicianName",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "StationName",
    "DeviceSerialNumber",
    # identifiers that link back to a hospital record
    "AccessionNumber",
    "StudyID",
    "AdmissionID",
    "RequestAttributesSequence",
    "StudyDate",
    "StudyTime",
    "SeriesDate",
    "SeriesTime",
    "AcquisitionDate",
    "AcquisitionTime",
    "ContentDate",
    "ContentTime",
)
# UIDs are not listed: the public datasets already use the SOP Instance UID as the image's file
# name and label-CSV key (SIIM ``ImageId``), which is the opaque image id this workflow keeps.


def hash_patient_id(patient_id: str, salt: str) -> str:
    """Salted SHA-256 of ``patient_id``: the first 16 lower-case hex characters (64 bits).

    ``sha256(salt + "\\x00" + patient_id)`` (both UTF-8); the NUL separator keeps
    ``("ab", "c")`` and ``("a", "bc")`` apart. The id is hashed exactly as given: an empty id is
    hashed like any other, so a caller that wants a per-file fallback must pass one.
    """
    digest = hashlib.sha256(salt.encode("utf-8") + b"\x00" + patient_id.encode("utf-8")).hexdigest()
    return digest[:16]
