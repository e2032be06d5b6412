"""Training code for the shipped models (torch; never imported by the product at run time).

One command per model: ``python -m ai.training.tumour``, ``python -m ai.training.fracture``,
``python -m ai.training.nodule``. Each is seeded, writes its split CSV, checkpoints under
``/tmp/radsight_train/<name>/`` and exports ``resources/models/<name>/``.
"""
