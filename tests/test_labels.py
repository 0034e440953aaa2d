"""ntkbook.labels: the words of the book, kept out of the compute modules' frames (and their cache keys)."""

import pandas as pd

from ntkbook import labels, models


def test_model_labels_are_the_models_own_names_and_unknown_ids_stay_ids():
    assert labels.MODEL_LABELS == models.MODEL_LABELS
    assert labels.model_label("attn") == "MLP-Attn" and labels.model_label("qkv") == "qkv"


def test_with_model_labels_adds_the_words_after_the_ids_once():
    frame = pd.DataFrame({"kappa": [1.0, 2.0], "arch": ["relu", "attn"], "x": [3, 4]})
    out = labels.with_model_labels(frame)
    assert list(out.columns) == ["kappa", "arch", "model", "x"] and list(out.model) == ["2L-ReLU", "MLP-Attn"]
    assert "model" not in frame.columns  # a copy
    assert labels.with_model_labels(out) is out and labels.with_model_labels(frame[["kappa"]]).equals(frame[["kappa"]])


def test_chapter_1_and_2_compute_frames_hold_no_display_labels():
    """The compute modules of chapters 1 and 2 write ids into their frames; no word of ntkbook.labels appears in
    their source (a reworded label must not change their cache keys)."""
    from pathlib import Path

    root = Path(labels.__file__).parent / "experiments"
    words = [*labels.MODEL_LABELS.values(), *(v for v in labels.DATASET_LABELS.values() if v != "digits")]
    for name in ("gram_kernel", "gram_sensitivity", "spectral", "spectral_kappa", "spectral_width"):
        text = (root / f"{name}.py").read_text()
        assert "MODEL_LABELS" not in text and "DATASET_LABELS" not in text, name
        code = "\n".join(line.split("#")[0] for line in text.splitlines())
        found = [w for w in words if f'"{w}"' in code]
        assert not found, f"{name}.py writes display labels {found} into its frames"
