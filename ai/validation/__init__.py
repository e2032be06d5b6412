"""Validation of RadSight models: metrics, bootstrap confidence intervals, cross-validation splits,
ROC/FROC plots and the ``radsight validate`` report.

Pure numpy (plus Pillow for plots, SimpleITK for reading CT crops): validating a shipped model needs
neither torch nor monai (monai.metrics is only the tests' reference).

- :mod:`~ai.validation.metrics` — classification (confusion ratios, ROC, AUC, threshold for a
  sensitivity), detection (hit criteria, FROC, CPM, lesion sensitivity, FP per scan), localisation
  (IoU recall, explanation peak in box), segmentation (Dice, percentile Hausdorff in mm).
- :mod:`~ai.validation.bootstrap` — seeded percentile bootstrap by case or group; subgroups.
- :mod:`~ai.validation.crossval` — k-fold splits, grouped and/or stratified, for training code.
- :mod:`~ai.validation.plots` — ROC and FROC PNGs with Pillow.
- :mod:`~ai.validation.cases` — ``CaseResult`` (truth + prediction per case) and its reduction.
- :mod:`~ai.validation.report` — metrics with intervals overall and per subgroup → ``metrics.json``.
- :mod:`~ai.validation.layouts`, :mod:`~ai.validation.predict`, :mod:`~ai.validation.nodule_crops`,
  :mod:`~ai.validation.run` — the ``radsight validate`` loop: layout → records → pipeline → cases.

Re-checking a model card's test metrics::

    radsight validate --model tumour-mri --data ../shared/data/labelled/brain-tumor-mri --out out/ \\
        --subset-file resources/models/tumour-mri/split.csv --split test
"""
