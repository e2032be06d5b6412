"""The analysis service: one Qt-free path from a file or a `Volume` to findings and explanation maps.

3D Slicer would call this the module's "Logic". ``radsight analyze``, ``radsight snapshot --analyze``
and the viewer's Analyze worker are thin adapters over it; ``radsight validate`` reads plain images
through the same reader. It may import ``ai`` and ``viewer.core``, never Qt, VTK, ``viewer.ui`` or
``viewer.commands`` (checked by lint-imports)::

    from viewer.analysis import analyse, image_input
    result = analyse(image_input(volume, body_part), registry=ModelRegistry())
    result.findings, result.maps, result.explanation(result.findings[0])

Not for diagnostic use.
"""

from viewer.analysis.image_input import image_input, read_image_input
from viewer.analysis.service import AnalysisResult, ModelRun, analyse

__all__ = ["AnalysisResult", "ModelRun", "analyse", "image_input", "read_image_input"]
