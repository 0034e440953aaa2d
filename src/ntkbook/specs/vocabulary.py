"""The names the chapters' knobs choose among, spelled here so that reading a spec (the command line's `--help`,
the parameters cell's check) imports no numeric stack. Each is the compute layer's own vocabulary, and
tests/test_specs.py keeps the two equal: a name added in the compute layer must be added here to be chosen."""

ARCHITECTURES = ("relu", "attn")  # ntkbook.models.ARCHITECTURES
L2_FORMS = ("w", "w-w0", "none")  # ntkbook.train.L2_FORMS
LOSSES = ("xent", "mse")  # ntkbook.train.LOSSES
TASK_NAMES = ("mnist", "cifar10", "mnist-3v8", "cifar10-auto-air", "digits", "digits-3v8")  # malleability_blocks.TASKS
READINGS = ("kernel", "network")  # ntkbook.experiments.malleability_blocks.READINGS
ATTACKS = ("fgsm", "pgd", "mim", "random")  # ntkbook.experiments.malleability_blocks.ATTACKS
