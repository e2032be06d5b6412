"""Training code for the shipped models (torch; never imported by the product at run time).

One command per model, then one that exports and measures it and one that writes the package::

    python -m ai.training.tumour;   python -m ai.training.tumour_export
    radsight validate ... (test splits, see the card);  python -m ai.training.tumour_card OUT
    python -m ai.training.fracture; python -m ai.training.fracture_export
    radsight validate ... (test split, see the card);   python -m ai.training.fracture_card OUT
    python -m ai.training.nodule --seed N (N = 0, 1, 2, each in its own RADSIGHT_TRAIN_DIR; see the card)
    python -m ai.training.nodule_eval --members <seed 1's dir> <seed 2's dir>
    python -m ai.training.nodule_card

Each is seeded (seed 0; nodule-ct averages three seeds), reads/writes its split CSV in
``resources/models/<name>/split.csv``, keeps caches and checkpoints under ``$RADSIGHT_TRAIN_DIR``
(default ``/tmp/radsight_train``) and writes ``resources/models/<name>/`` (model.onnx, model.json via
``ai.package.write_package``, MODEL_CARD.md, metrics.json, subset_check.json, train_info*.json). Run
them under ``nice`` in the background: each takes 20–45 min on 2 shared CPU cores.
"""
