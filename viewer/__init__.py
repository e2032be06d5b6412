"""RadSight viewer. Not for diagnostic use.

Telemetry of every dependency is switched off before anything else is imported (see
:mod:`ai.offline`): nothing opens a network connection except the DICOM node the user configures.
"""

from ai.offline import switch_off_telemetry

switch_off_telemetry()
