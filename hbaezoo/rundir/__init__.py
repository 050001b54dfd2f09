"""The run directory, one package below training, evaluation and sampling, the only place its files are opened.

    layout.py       RunDir: every file name of a run directory, its records read (checked) and written
    checkpoints.py  one checkpoint folder: atomic save, checksums, verified load, pruning
    restore.py      Checkpoint: the newest good one, checked against the model (kind, shapes, EMA), then loaded
    lock.py         the lock held while a run writes; reading a file that may come from someone else
    loading.py      load(run_dir): recorded plugins, config.gin, the model with its newest good checkpoint

Import the submodule you need (`from hbaezoo.rundir.layout import RunDir`): this file imports
nothing, so `hbaezoo report` reads a run without importing the model code.
"""
