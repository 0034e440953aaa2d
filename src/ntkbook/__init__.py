"""ntkbook: an executable reproduction of arXiv 2603.13085 (linearized attention and the NTK).

Three layers, one direction. Compute (numbers only): `data`, `kernels`, `models`, `attention_variants`, `train`,
`batched`, `influence`, `attacks`, `malleability`, `experiments.<chapter>` (each chapter's sweep as units). Report:
`report.<chapter>` and `report.claims` (tables, glued values, verdicts), `plotting`. Beside them: `paper` (the
paper's numbers and statements), `claims` (statuses, `Verdict`, rules), `spec` (one spec per chapter), `cache`
(the per-unit result store), `runner` and `sweeps` (executors and the `python -m ntkbook sweep` command), `notebook`
(parameter checks and display in the book and in JupyterLab). Importing the package silences TensorFlow's start-up noise, which
neural-tangents would otherwise print on import.
"""

from ntkbook._quiet import import_tensorflow_quietly

import_tensorflow_quietly()

__version__ = "0.1.0"
