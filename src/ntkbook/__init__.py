"""ntkbook: an executable reproduction of arXiv 2603.13085 (linearized attention and the NTK).

Modules, one idea each (see DESIGN.md): `data`, `kernels`, `models`, `train`, `influence`, `attacks`,
`malleability`, `experiments`, `plotting`. Importing the package silences TensorFlow's start-up noise, which
neural-tangents would otherwise print on import.
"""

from ntkbook._quiet import import_tensorflow_quietly

import_tensorflow_quietly()

__version__ = "0.1.0"
