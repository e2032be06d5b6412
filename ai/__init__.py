"""RadSight's AI engine (numpy + onnxruntime; never Qt, VTK or the viewer). Not for diagnostic use.

Offline for real: onnxruntime's telemetry (a native thread that looks up a telemetry host and keeps
a device id under ``~/.cache/Microsoft/``) is switched off here, before anything imports
onnxruntime; ``ort.disable_telemetry_events()`` after import does not stop it.
"""

from ai.offline import switch_off_telemetry

switch_off_telemetry()
