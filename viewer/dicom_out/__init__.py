"""AI results as DICOM (SR TID 1500, SEG, Parametric Map), their read-back, and anonymised export.

Qt-free. Writers take `ai.findings.Finding` records plus the source series (`SourceSeries`), never
the analysis service. Not for diagnostic use.
"""
