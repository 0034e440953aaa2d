"""The chapters' knobs live in `ntkbook.specs`, outside every unit's cache key. That is safe only if a unit's
numbers cannot depend on anything there except through its parameters: a compute module may import from
`ntkbook.specs` its Spec class and tuples of names (the knobs' vocabularies), nothing that computes."""

import ast
import importlib
from pathlib import Path

import ntkbook
from ntkbook import cache
from ntkbook.spec import Spec
from ntkbook.sweeps import SWEEPS

PACKAGE = Path(ntkbook.__file__).resolve().parent


def test_specs_are_outside_every_key():
    for entry in SWEEPS.values():
        closure = cache.module_closure(entry.module)
        assert not any(f.startswith("specs/") for f in closure), entry.name
        assert entry.spec_class.__module__ == entry.spec_module


def test_compute_imports_from_specs_only_spec_classes_and_vocabularies():
    for path in sorted((PACKAGE / "experiments").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ntkbook.specs"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    value = getattr(module, alias.name)
                    ok = (isinstance(value, type) and issubclass(value, Spec)) or (
                        isinstance(value, tuple) and all(isinstance(v, str) for v in value))
                    assert ok, f"{path.name} imports {alias.name} from {node.module}: not a Spec or a vocabulary"
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("ntkbook.specs") for a in node.names), path.name


def test_each_chapters_spec_finds_its_registry_entry():
    from ntkbook.notebook import sweep_of
    from ntkbook.report.provenance import _entry_of

    for name, entry in SWEEPS.items():
        assert sweep_of(entry.spec_class) == name  # how a chapter finds its configured profile
        assert _entry_of(entry.resolve("quick")) is entry  # how its provenance note finds its units


def test_the_specs_vocabulary_is_the_compute_layers():
    from ntkbook import models, train
    from ntkbook.experiments import malleability_blocks
    from ntkbook.specs import vocabulary as v

    assert v.ARCHITECTURES == models.ARCHITECTURES and v.L2_FORMS == train.L2_FORMS and v.LOSSES == train.LOSSES
    assert v.TASK_NAMES == tuple(malleability_blocks.TASKS)
    assert v.READINGS == malleability_blocks.READINGS and v.ATTACKS == malleability_blocks.ATTACKS


def test_reading_a_chapters_knobs_imports_no_numeric_stack():
    import subprocess
    import sys

    code = ("import sys\nfrom ntkbook.sweeps import SWEEPS\n"
            "for e in SWEEPS.values():\n    e.spec_class.declarations()\n"
            "print(sorted(m for m in ('jax', 'jaxlib', 'scipy', 'pandas') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", done.stdout
