"""One module per chapter declaring its knobs and profiles (a `ntkbook.spec.Spec` subclass).

The result cache leaves this package out of every unit's key (`ntkbook.cache.COMPUTE_EXCLUDED`): a unit's function
receives the resolved knobs as its parameters, which are in the key, so a spec's docs, profiles and recorded run
times never change a computed number. A compute module imports from here only its Spec class and tuples of names
(the knobs' vocabularies); tests/test_specs.py checks that.
"""
