"""Validation of RadSight models: metrics, bootstrap confidence intervals, cross-validation splits,
ROC/FROC plots and the ``radsight validate`` report.

Pure numpy (plus Pillow for plots): validating a shipped model needs neither torch nor monai.
"""
