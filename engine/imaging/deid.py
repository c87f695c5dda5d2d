"""De-identify DICOM data sets with the DICOM PS3.15 Annex E Basic Application Level
Confidentiality Profile, for exports and for training data a site collects.

Attributes listed in Table E.1-1 that occur in projection radiographs get the
table's action. Where the table allows a choice (X/Z, X/D, Z/D, X/Z/D, X/Z/U*), the
first, most removing action is used, except PatientID, which gets a pseudonym (a
D action) so that a patient's studies stay linked within a run. Attributes the
table does not list here are handled by rules that remove rather than keep:

* private attributes, curves (50xx) and overlays (60xx) are removed;
* UIDs that are not registered DICOM UIDs are replaced by 2.25 UIDs derived from
  a secret salt, so the same salt always gives the same replacement;
* person names, dates, times and ages are removed;
* free text (LO, SH, ST, LT, UT, UC, AE, UR) is removed unless it is a technical
  attribute in SAFE_TEXT_KEYWORDS;
* sequences are processed item by item with the same rules.

Pixel data is not cleaned: burned-in text (common on CR and secondary captures)
is reported as a warning, and such images need review before they leave the site.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import config, dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID

REMOVE = "X"
EMPTY = "Z"
PSEUDONYM = "D"
REPLACE_UID = "U"
KEEP = "K"

# Table E.1-1 actions for the attributes that occur in CR, DX and secondary capture
# images and their study, series, equipment and request modules.
BASIC_PROFILE: dict[str, str] = {
    # Patient
    "PatientName": EMPTY,
    "PatientID": PSEUDONYM,
    "PatientBirthDate": EMPTY,
    "PatientBirthTime": REMOVE,
    "PatientSex": EMPTY,
    "PatientAge": REMOVE,
    "PatientSize": REMOVE,
    "PatientWeight": REMOVE,
    "PatientAddress": REMOVE,
    "PatientTelephoneNumbers": REMOVE,
    "PatientTelecomInformation": REMOVE,
    "PatientMotherBirthName": REMOVE,
    "PatientBirthName": REMOVE,
    "OtherPatientIDs": REMOVE,
    "OtherPatientIDsSequence": REMOVE,
    "OtherPatientNames": REMOVE,
    "IssuerOfPatientID": REMOVE,
    "MedicalRecordLocator": REMOVE,
    "MilitaryRank": REMOVE,
    "BranchOfService": REMOVE,
    "EthnicGroup": REMOVE,
    "Occupation": REMOVE,
    "AdditionalPatientHistory": REMOVE,
    "PatientComments": REMOVE,
    "PatientReligiousPreference": REMOVE,
    "MedicalAlerts": REMOVE,
    "Allergies": REMOVE,
    "PregnancyStatus": REMOVE,
    "SmokingStatus": REMOVE,
    "LastMenstrualDate": REMOVE,
    "PatientInsurancePlanCodeSequence": REMOVE,
    "PatientPrimaryLanguageCodeSequence": REMOVE,
    "CountryOfResidence": REMOVE,
    "RegionOfResidence": REMOVE,
    "ResponsiblePerson": REMOVE,
    "ResponsibleOrganization": REMOVE,
    "PatientState": REMOVE,
    "SpecialNeeds": REMOVE,
    "ReferencedPatientSequence": REMOVE,
    "ReferencedPatientPhotoSequence": REMOVE,
    "InsurancePlanIdentification": REMOVE,
    # Study, visit and request
    "StudyInstanceUID": REPLACE_UID,
    "AccessionNumber": EMPTY,
    "StudyID": EMPTY,
    "StudyDate": EMPTY,
    "StudyTime": EMPTY,
    "StudyDescription": REMOVE,
    "StudyComments": REMOVE,
    "StudyIDIssuer": REMOVE,
    "ReferringPhysicianName": EMPTY,
    "ReferringPhysicianAddress": REMOVE,
    "ReferringPhysicianTelephoneNumbers": REMOVE,
    "ReferringPhysicianIdentificationSequence": REMOVE,
    "ConsultingPhysicianName": EMPTY,
    "PhysiciansOfRecord": REMOVE,
    "PhysiciansOfRecordIdentificationSequence": REMOVE,
    "NameOfPhysiciansReadingStudy": REMOVE,
    "PhysiciansReadingStudyIdentificationSequence": REMOVE,
    "RequestingPhysician": REMOVE,
    "RequestingService": REMOVE,
    "ReasonForStudy": REMOVE,
    "RequestedProcedureDescription": REMOVE,
    "RequestedProcedureID": REMOVE,
    "RequestedProcedureComments": REMOVE,
    "ReasonForTheRequestedProcedure": REMOVE,
    "RequestAttributesSequence": REMOVE,
    "ImagingServiceRequestComments": REMOVE,
    "PlacerOrderNumberImagingServiceRequest": EMPTY,
    "FillerOrderNumberImagingServiceRequest": EMPTY,
    "AdmissionID": REMOVE,
    "IssuerOfAdmissionID": REMOVE,
    "AdmittingDiagnosesDescription": REMOVE,
    "AdmittingDiagnosesCodeSequence": REMOVE,
    "AdmittingDate": REMOVE,
    "AdmittingTime": REMOVE,
    "CurrentPatientLocation": REMOVE,
    "ServiceEpisodeID": REMOVE,
    "ServiceEpisodeDescription": REMOVE,
    "VisitComments": REMOVE,
    "ReferencedStudySequence": REMOVE,
    # Series, procedure step and equipment
    "SeriesInstanceUID": REPLACE_UID,
    "SeriesDate": REMOVE,
    "SeriesTime": REMOVE,
    "SeriesDescription": REMOVE,
    "ProtocolName": REMOVE,
    "OperatorsName": REMOVE,
    "OperatorIdentificationSequence": REMOVE,
    "PerformingPhysicianName": REMOVE,
    "PerformingPhysicianIdentificationSequence": REMOVE,
    "PerformedProcedureStepID": REMOVE,
    "PerformedProcedureStepDescription": REMOVE,
    "PerformedProcedureStepStartDate": REMOVE,
    "PerformedProcedureStepStartTime": REMOVE,
    "PerformedProcedureStepEndDate": REMOVE,
    "PerformedProcedureStepEndTime": REMOVE,
    "PerformedLocation": REMOVE,
    "PerformedStationAETitle": REMOVE,
    "PerformedStationName": REMOVE,
    "CommentsOnThePerformedProcedureStep": REMOVE,
    "ScheduledProcedureStepDescription": REMOVE,
    "ScheduledProcedureStepID": REMOVE,
    "ScheduledPerformingPhysicianName": REMOVE,
    "ReferencedPerformedProcedureStepSequence": REMOVE,
    "InstitutionName": REMOVE,
    "InstitutionAddress": REMOVE,
    "InstitutionalDepartmentName": REMOVE,
    "InstitutionCodeSequence": REMOVE,
    "StationName": REMOVE,
    "StationAETitle": REMOVE,
    "RetrieveAETitle": REMOVE,
    "DeviceSerialNumber": REMOVE,
    "DeviceUID": REPLACE_UID,
    "DetectorID": REMOVE,
    "PlateID": REMOVE,
    "CassetteID": REMOVE,
    "GantryID": REMOVE,
    "GeneratorID": REMOVE,
    "XRayDetectorID": REMOVE,
    "UniqueDeviceIdentifier": REMOVE,
    "UDISequence": REMOVE,
    "DateOfLastCalibration": REMOVE,
    "TimeOfLastCalibration": REMOVE,
    "DateOfLastDetectorCalibration": REMOVE,
    "TimeOfLastDetectorCalibration": REMOVE,
    # Image
    "SOPInstanceUID": REPLACE_UID,
    "FrameOfReferenceUID": REPLACE_UID,
    "IrradiationEventUID": REPLACE_UID,
    "InstanceCreatorUID": REPLACE_UID,
    "AcquisitionUID": REPLACE_UID,
    "ReferencedSOPInstanceUID": REPLACE_UID,
    "AcquisitionDate": REMOVE,
    "AcquisitionTime": REMOVE,
    "AcquisitionDateTime": REMOVE,
    "ContentDate": EMPTY,
    "ContentTime": EMPTY,
    "InstanceCreationDate": REMOVE,
    "InstanceCreationTime": REMOVE,
    "ImageComments": REMOVE,
    "DerivationDescription": REMOVE,
    "AcquisitionComments": REMOVE,
    "AcquisitionDeviceProcessingDescription": REMOVE,
    "FrameComments": REMOVE,
    "IconImageSequence": REMOVE,
    "ReferencedImageSequence": REMOVE,
    "SourceImageSequence": REMOVE,
    "DateOfSecondaryCapture": REMOVE,
    "TimeOfSecondaryCapture": REMOVE,
    "TimezoneOffsetFromUTC": REMOVE,
    "OverlayDate": REMOVE,
    "OverlayTime": REMOVE,
    "CurveDate": REMOVE,
    "CurveTime": REMOVE,
    "IdentifyingComments": REMOVE,
    "TextComments": REMOVE,
    "TextString": REMOVE,
    "DataSetTrailingPadding": REMOVE,
    "DigitalSignaturesSequence": REMOVE,
    "OriginalAttributesSequence": REMOVE,
    "ModifiedAttributesSequence": REMOVE,
    "ContentSequence": REMOVE,
}

# Patient attributes kept by the Retain Patient Characteristics Option (113108).
PATIENT_CHARACTERISTICS = frozenset({"PatientSex", "PatientAge", "PatientSize", "PatientWeight"})

# Free-text attributes that describe equipment, coding or display, never a person.
SAFE_TEXT_KEYWORDS = frozenset(
    {
        "Manufacturer",
        "ManufacturerModelName",
        "SoftwareVersions",
        "WindowCenterWidthExplanation",
        "LUTExplanation",
        "ModalityLUTType",
        "CodeValue",
        "CodingSchemeDesignator",
        "CodingSchemeVersion",
        "CodeMeaning",
        "LongCodeValue",
        "FilterType",
        "CollimatorGridName",
        "PlateType",
        "PhosphorType",
        "ConvolutionKernel",
        "LossyImageCompressionMethod",
    }
)

TEXT_VRS = frozenset({"LO", "SH", "ST", "LT", "UT", "UC", "AE", "UR"})
DATE_VRS = frozenset({"DA", "DT"})

# Secondary capture SOP classes: scanned films and screenshots, often with burned-in text.
SECONDARY_CAPTURE_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.7",
        "1.2.840.10008.5.1.4.1.1.7.1",
        "1.2.840.10008.5.1.4.1.1.7.2",
        "1.2.840.10008.5.1.4.1.1.7.3",
        "1.2.840.10008.5.1.4.1.1.7.4",
    }
)

# CID 7050 De-identification Method codes.
BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")
MODIFIED_DATES_CODE = ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")
PATIENT_CHARACTERISTICS_CODE = ("113108", "Retain Patient Characteristics Option")

MAX_DATE_SHIFT_DAYS = 3650


@dataclass
class DeidentifiedDataset:
    dataset: Dataset
    warnings: list[str] = field(default_factory=list)
    """Notes for a person to review before the data leave the site, such as possible burned-in text."""


def _is_registered_uid(value: str) -> bool:
    """Return whether a UID is a registered DICOM UID (SOP class, transfer syntax, coding scheme)."""
    return UID(value).is_valid and UID(value).name != str(value)


def _shift_date(value: str, days: int) -> str:
    """Shift a DA value (YYYYMMDD) or the date part of a DT value by whole days."""
    text = str(value)
    if len(text) < 8 or not text[:8].isdigit():
        return ""
    try:
        shifted = datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8])) + datetime.timedelta(days=days)
    except ValueError:
        return ""
    return shifted.strftime("%Y%m%d") + text[8:]


class Deidentifier:
    """Apply the basic profile to data sets, mapping UIDs and patient IDs consistently.

    One Deidentifier is one run: the same UID or PatientID always maps to the same
    replacement, so a study's images and a patient's studies stay linked. The
    replacements derive from `salt` with HMAC-SHA-256. Keep a fixed salt secret,
    because anyone with the salt can test guesses of the original identifiers.
    """

    def __init__(
        self,
        *,
        salt: bytes | None = None,
        shift_dates: bool = False,
        retain_patient_characteristics: bool = False,
    ) -> None:
        """
        Args:
            salt: secret for the UID, pseudonym and date-shift derivations; a random
                one (fresh per Deidentifier) when None.
            shift_dates: keep dates shifted back by 1 to 3,650 days per patient, in
                place of removing them, and keep times (Retain Longitudinal Temporal
                Information with Modified Dates Option).
            retain_patient_characteristics: keep sex, age, size and weight.
        """
        self._salt = salt if salt is not None else secrets.token_bytes(32)
        self.shift_dates = shift_dates
        self.retain_patient_characteristics = retain_patient_characteristics
        self.uid_map: dict[str, str] = {}

    def _digest(self, kind: str, value: str) -> bytes:
        return hmac.new(self._salt, f"{kind}:{value}".encode(), hashlib.sha256).digest()

    def replace_uid(self, uid: str) -> str:
        """Return the replacement for a UID, the same for the same UID within this Deidentifier."""
        uid = str(uid)
        if uid not in self.uid_map:
            # A 2.25 UID (PS3.5 B.2) from the keyed hash, laid out as a version-4 UUID.
            derived = uuid.UUID(bytes=self._digest("uid", uid)[:16], version=4)
            self.uid_map[uid] = f"2.25.{derived.int}"
        return self.uid_map[uid]

    def pseudonym(self, patient_id: str) -> str:
        """Return the replacement PatientID: "ANON-" and 16 hex digits of a keyed hash."""
        return "ANON-" + self._digest("patient", str(patient_id)).hex()[:16].upper()

    def date_shift_days(self, patient_id: str) -> int:
        """Return the (negative) number of days this patient's dates move when shift_dates is set."""
        return -(1 + int.from_bytes(self._digest("date", str(patient_id))[:4], "big") % MAX_DATE_SHIFT_DAYS)

    def _action(self, element: DataElement, shift_days: int | None) -> str:
        keyword = element.keyword
        if self.retain_patient_characteristics and keyword in PATIENT_CHARACTERISTICS:
            return KEEP
        vr = element.VR
        if (
            shift_days is not None
            and vr in DATE_VRS | {"TM"}
            and keyword not in ("PatientBirthDate", "PatientBirthTime")
        ):
            return "shift" if vr in DATE_VRS else KEEP
        if keyword in BASIC_PROFILE:
            return BASIC_PROFILE[keyword]
        if vr == "UI":
            values = element.value if isinstance(element.value, MultiValue) else [element.value]
            return KEEP if all(not v or _is_registered_uid(v) for v in values) else REPLACE_UID
        if vr == "SQ":
            return "recurse"
        if vr in ("PN", "AS") or vr in DATE_VRS or vr == "TM":
            return REMOVE
        if vr in TEXT_VRS and keyword not in SAFE_TEXT_KEYWORDS:
            return REMOVE
        return KEEP

    def _clean(self, dataset: Dataset, patient_id: str, shift_days: int | None) -> None:
        for tag in list(dataset.keys()):
            if tag.is_private or (tag.group & 0xFF00) in (0x5000, 0x6000):
                del dataset[tag]
                continue
            element = dataset[tag]
            action = self._action(element, shift_days)
            if action == REMOVE:
                del dataset[tag]
            elif action == EMPTY:
                element.value = Sequence() if element.VR == "SQ" else ""
            elif action == PSEUDONYM:
                element.value = self.pseudonym(patient_id)
            elif action == REPLACE_UID:
                if isinstance(element.value, MultiValue):
                    element.value = [self.replace_uid(v) for v in element.value]
                elif element.value:
                    element.value = self.replace_uid(element.value)
            elif action == "shift":
                if isinstance(element.value, MultiValue):
                    element.value = [_shift_date(v, shift_days or 0) for v in element.value]
                elif element.value:
                    element.value = _shift_date(element.value, shift_days or 0)
            elif action == "recurse":
                for item in element.value:
                    self._clean(item, patient_id, shift_days)

    def _record_method(self, dataset: Dataset) -> None:
        codes = [BASIC_PROFILE_CODE]
        if self.shift_dates:
            codes.append(MODIFIED_DATES_CODE)
        if self.retain_patient_characteristics:
            codes.append(PATIENT_CHARACTERISTICS_CODE)
        items = []
        for value, meaning in codes:
            item = Dataset()
            item.CodeValue = value
            item.CodingSchemeDesignator = "DCM"
            item.CodeMeaning = meaning
            items.append(item)
        dataset.PatientIdentityRemoved = "YES"
        dataset.DeidentificationMethod = "DICOM PS3.15 Basic Application Level Confidentiality Profile"
        dataset.DeidentificationMethodCodeSequence = items
        dataset.LongitudinalTemporalInformationModified = "MODIFIED" if self.shift_dates else "REMOVED"

    def deidentify(self, dataset: Dataset) -> DeidentifiedDataset:
        """Return a de-identified copy of a data set; the input is not changed."""
        # Value validation would quote invalid values, names included, in warnings and logs.
        with config.disable_value_validation():
            output = copy.deepcopy(dataset)
            output.filename = None
            patient_id = str(dataset.get("PatientID", "") or "")
            shift_days = self.date_shift_days(patient_id) if self.shift_dates else None
            self._clean(output, patient_id, shift_days)
            self._record_method(output)

            if isinstance(getattr(dataset, "file_meta", None), FileMetaDataset):
                meta = FileMetaDataset()
                meta.MediaStorageSOPClassUID = output.get(
                    "SOPClassUID", dataset.file_meta.get("MediaStorageSOPClassUID")
                )
                meta.MediaStorageSOPInstanceUID = output.get("SOPInstanceUID") or self.replace_uid(
                    dataset.file_meta.MediaStorageSOPInstanceUID
                )
                meta.TransferSyntaxUID = dataset.file_meta.TransferSyntaxUID
                meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
                output.file_meta = meta
            output.preamble = b"\x00" * 128

            warnings: list[str] = []
            burned_in = str(dataset.get("BurnedInAnnotation", "") or "").strip().upper()
            if burned_in == "YES" or str(dataset.get("SOPClassUID", "")) in SECONDARY_CAPTURE_CLASSES:
                reason = "BurnedInAnnotation is YES" if burned_in == "YES" else "it is a secondary capture"
                warnings.append(
                    f"the pixel data may show burned-in identifying text ({reason}); the basic profile "
                    "does not clean pixel data, so review or mask the image before it leaves the site"
                )
        return DeidentifiedDataset(output, warnings)

    def deidentify_file(self, source: str | Path, destination: str | Path) -> list[str]:
        """Write a de-identified copy of a DICOM file and return the review warnings."""
        with config.disable_value_validation():
            dataset = dcmread(source)
        result = self.deidentify(dataset)
        result.dataset.save_as(destination, enforce_file_format=True)
        return result.warnings
