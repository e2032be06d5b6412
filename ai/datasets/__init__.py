"""Readers for the labelled data layouts under ``../shared/data/labelled``.

Each reader returns a list of :class:`~ai.datasets.records.Record` (one per image or crop) from a
folder laid out like the public set it is named after; a record loads its pixels on demand:

- :func:`read_brain_tumor` — ``brain-tumor-mri/{glioma,meningioma,pituitary}/<id>.jpg`` + YOLO ``<id>.txt``
- :func:`read_br35h` — ``br35h/{yes,no}/<id>.jpg`` + YOLO ``yes/<id>.txt`` (tumour presence)
- :func:`read_fracatlas` — ``fracatlas/images/{Fractured,Non_fractured}``, ``dataset.csv``,
  ``boxes_staged.csv``
- :func:`read_lidc_vois` — ``lidc-nodule-vois/{image,nodule_mask}/<voi>.nii.gz`` + ``voi_index.csv``

Boxes are always in pixel (2D: ``x0, y0, x1, y1``) coordinates of the loaded array; spacing is in mm
where the source gives it (NIfTI), else 1.0 per pixel (``Loaded.has_geometry`` is False).
"""

from ai.datasets.br35h import PRESENCE_CLASSES, read_br35h
from ai.datasets.brain_tumor import TUMOUR_CLASSES, read_brain_tumor
from ai.datasets.fracatlas import FRACTURE_CLASSES, REGIONS, read_fracatlas
from ai.datasets.lidc_vois import NODULE_CLASSES, read_lidc_vois
from ai.datasets.records import Loaded, Record
from ai.datasets.splits import assign_splits, read_split_csv, write_split_csv

__all__ = [
    "FRACTURE_CLASSES",
    "NODULE_CLASSES",
    "PRESENCE_CLASSES",
    "REGIONS",
    "TUMOUR_CLASSES",
    "Loaded",
    "Record",
    "assign_splits",
    "read_br35h",
    "read_brain_tumor",
    "read_fracatlas",
    "read_lidc_vois",
    "read_split_csv",
    "write_split_csv",
]
