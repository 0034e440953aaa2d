"""How the book names things in sentences, tables and figures: words only, applied by the report layer.

Compute modules key their results by ids ("mnist", "relu"); the words live here, outside the result cache's
compute fingerprint (`ntkbook.cache.COMPUTE_EXCLUDED`), so rewording a label never invalidates a cached sweep.
"""

__all__ = ["DATASET_LABELS", "dataset_label"]

#: Display names of the data sets (ids as `ntkbook.data.load` takes them).
DATASET_LABELS = {"mnist": "MNIST", "cifar10": "CIFAR-10", "digits": "digits"}


def dataset_label(name: str) -> str:
    """The display name of data set `name`; a data set of the reader's own is shown by its id."""
    return DATASET_LABELS.get(name, name)
