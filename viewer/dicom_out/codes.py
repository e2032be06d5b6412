"""Coded concepts RadSight writes into its DICOM results, and the text that goes with them.

Standard codes where one says what we mean (SNOMED CT via pydicom's code dictionary); otherwise
RadSight's own coding scheme ``99RADSIGHT`` (a private scheme, declared in the SR's Coding Scheme
Identification Sequence). A model's score is *not* called a probability: it is not calibrated.
"""

from __future__ import annotations

from highdicom.sr import CodedConcept
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

DISCLAIMER = "not for diagnostic use"
SCHEME = "99RADSIGHT"
MANUFACTURER = "RadSight"
DEVICE_NAME = f"RadSight AI ({DISCLAIMER})"


def radsight_code(value: str, meaning: str) -> CodedConcept:
    return CodedConcept(value=value, scheme_designator=SCHEME, meaning=meaning)


SCORE = radsight_code("score", "AI model score")
OPERATING_POINT = radsight_code("operating-point", "AI model operating point")
BOX_EXTENT_K = radsight_code("extent-k", "Bounding box extent across slices")
BOX_EXTENT_J = radsight_code("extent-j", "Bounding box extent along columns")
BOX_EXTENT_I = radsight_code("extent-i", "Bounding box extent along rows")
EXPLANATION_MAP = radsight_code("explanation-map", "AI explanation map")
VOLUME = codes.SCT.Volume
NO_UNITS = codes.UCUM.NoUnits
MM = codes.UCUM.Millimeter
MM3 = codes.UCUM.CubicMillimeter

_FINDING_TYPES = {
    "nodule": codes.SCT.Nodule,
    "glioma": codes.SCT.Neoplasm,
    "meningioma": codes.SCT.Neoplasm,
    "pituitary": codes.SCT.Neoplasm,
}


def finding_type(label: str) -> CodedConcept:
    """A standard code for the finding's kind where one fits, else RadSight's code for the label."""
    code = _FINDING_TYPES.get(label.lower())
    if code is None:
        return radsight_code(label.lower(), label)
    return CodedConcept(value=code.value, scheme_designator=code.scheme_designator, meaning=code.meaning)


def coding_scheme_identification() -> Dataset:
    """The Coding Scheme Identification item that declares ``99RADSIGHT``."""
    item = Dataset()
    item.CodingSchemeDesignator = SCHEME
    item.CodingSchemeName = "RadSight AI result codes"
    item.CodingSchemeResponsibleOrganization = MANUFACTURER
    return item
