"""ntkbook: an executable reproduction of arXiv 2603.13085 (linearized attention and the NTK).

Three layers, one direction. Compute (numbers only): `data`, `kernels`, `models`, `attention_variants`, `train`,
`kernel_predict`, `batched`, `influence`, `attacks`, `malleability`, `experiments.<chapter>` (each chapter's sweep
as units). Report: `report.<chapter>` and `report.claims` (tables, glued values, verdicts), `plotting`. Beside
them: `paper` (the paper's numbers and statements), `claims` (statuses, `Verdict`, rules), `spec` (one spec per
chapter), `cache` (the per-unit result store), `runner` and `sweeps` (executors and the `python -m ntkbook sweep`
command), `notebook` (parameter checks and display in the book and in JupyterLab), `nt_compat` (neural-tangents,
the independent reference, loaded on demand). Importing the package imports none of JAX, pandas or matplotlib: the
command line and `ntkbook.sweeps` stay fast, and each module imports what it computes with.
"""

__version__ = "0.1.0"
