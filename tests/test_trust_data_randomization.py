"""The data randomization test's classifier: labels permuted within the training split only,
seeded; a model trained on them has learnt nothing of the truth (test AUROC near 0.5) while its
twin trained on the true labels of the same images has."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from saliency_audit.jobs.models import permuted_labels  # noqa: E402


def test_only_training_labels_are_permuted_and_the_draw_is_seeded():
    labels = np.array([0, 1] * 50)
    train = np.arange(0, 80)
    out = permuted_labels(labels, train, seed=5)
    assert np.array_equal(out[80:], labels[80:])  # validation and test labels stay true
    assert sorted(out[train]) == sorted(labels[train])  # the same labels, shuffled
    assert (out[train] != labels[train]).sum() > 20
    assert np.array_equal(out, permuted_labels(labels, train, seed=5))
    assert not np.array_equal(out, permuted_labels(labels, train, seed=6))


def test_a_classifier_trained_on_permuted_labels_is_at_chance():
    """Pneumothorax phantoms (no marker): the true-label model separates the test images, its
    twin trained on permuted training and validation labels (same seed, same images) is at
    chance on them."""
    from test_trust_shortcut import phantom_data

    from saliency_audit.models._loop import Schedule
    from saliency_audit.models.classifier import predict_logits, train_classifier
    from saliency_audit.models.tf_setup import configure_tensorflow

    configure_tensorflow(1, seed=0)
    data = phantom_data(
        n_images=240, size=192, out_size=64, marker_rate=0.0, test_marker="neither", seed=11
    )
    index = data["index"]
    labels = index["label"].to_numpy()
    rows = {s: index.loc[index["split"] == s, "index"].to_numpy() for s in ("train", "val", "test")}
    schedule = Schedule(epochs=40, batch_size=16, learning_rate=0.003, patience=40, seed=1)
    shuffled = permuted_labels(permuted_labels(labels, rows["train"], 3), rows["val"], 4)
    aucs = {}
    for name, y in (("true", labels), ("permuted", shuffled)):
        model, _ = train_classifier(
            data["images"], y, rows["train"], rows["val"], arch="tiny", size=64, schedule=schedule
        )
        logits = predict_logits(model, data["images"], rows["test"])
        aucs[name] = roc_auc_score(labels[rows["test"]], logits)
    assert aucs["true"] > 0.85, aucs
    assert abs(aucs["permuted"] - 0.5) < 0.15, aucs
