"""How the book names things in sentences, tables and figures: words only, applied by the report layer.

Compute modules key their results by ids ("mnist", "relu"); the words live here, outside the result cache's
compute fingerprint (`ntkbook.cache.COMPUTE_EXCLUDED`), so rewording a label never invalidates a cached sweep.
"""

__all__ = ["DATASET_LABELS", "MODEL_LABELS", "dataset_label", "model_label", "with_model_labels"]

#: Display names of the data sets (ids as `ntkbook.data.load` takes them).
DATASET_LABELS = {"mnist": "MNIST", "cifar10": "CIFAR-10", "digits": "digits"}


#: Display names of the two architectures (ids as `ntkbook.models.features` takes them).
MODEL_LABELS = {"relu": "2L-ReLU", "attn": "MLP-Attn"}


def model_label(arch: str) -> str:
    """The display name of architecture `arch` ("relu" -> "2L-ReLU", "attn" -> "MLP-Attn"); others by their id."""
    return MODEL_LABELS.get(arch, arch)


def with_model_labels(frame):
    """A copy of a result frame with a "model" column (`model_label` of its "arch" ids) right after "arch"; the
    frame itself when it has no "arch" column or already has "model"."""
    if "arch" not in frame.columns or "model" in frame.columns:
        return frame
    out = frame.copy()
    out.insert(list(out.columns).index("arch") + 1, "model", out["arch"].map(model_label))
    return out


def dataset_label(name: str) -> str:
    """The display name of data set `name`; a data set of the reader's own is shown by its id."""
    return DATASET_LABELS.get(name, name)
