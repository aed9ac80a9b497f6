"""Workflow jobs of the model stage: file paths in, files out (thin scripts call these).

Each job reads the converted stacks (``images.npy``, ``masks.npy``), ``index.csv`` and the
split, does one thing and writes its outputs atomically.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import io
from ..convert import read_boxes, read_index, scorable
from ..errors import InputError
from ..split import load_split

log = logging.getLogger(__name__)


@dataclass
class Data:
    images: np.ndarray
    index: pd.DataFrame
    split: np.ndarray  # split name per stack row

    @property
    def labels(self) -> np.ndarray:
        return self.index["label"].to_numpy()

    def rows(self, name: str, *, ground_truth: bool = False) -> np.ndarray:
        """Stack rows of split ``name``; with ``ground_truth``, only those a localiser can
        learn from (no positive without ground truth, see ``unannotated: train``)."""
        keep = self.split == name
        if ground_truth:
            keep &= scorable(self.index).to_numpy()
        return np.flatnonzero(keep)


def schedule(settings: dict, seed: int):
    """The training :class:`~saliency_audit.models._loop.Schedule` of a config section
    (``models.training``, ``models.unet``, ``models.retinanet``) and a seed."""
    from ..models._loop import Schedule

    keys = ("epochs", "batch_size", "learning_rate", "patience")
    return Schedule(**{k: settings[k] for k in keys}, seed=seed)


def load_data(images, index, split) -> Data:
    """Open the image stack (memory-mapped) and align the split to its rows."""
    stack = io.load_stack(images)
    table = read_index(index)
    by_id = load_split(split).set_index("image_id")["split"]
    names = table["image_id"].map(by_id)
    if names.isna().any():
        missing = table.loc[names.isna(), "image_id"].iloc[0]
        raise InputError(f"{split}: image {missing!r} of {index} has no split")
    if len(table) != stack.shape[0]:
        raise InputError(f"{index} has {len(table)} rows but {images} has {stack.shape[0]} images")
    return Data(stack, table, names.to_numpy())


def _write_history(history: pd.DataFrame, out_history, out_curve, title: str, extra: str | None):
    from ..figures.panels import learning_curve

    io.write_csv(out_history, history)
    learning_curve(history, out_curve, title=title, extra=extra)


def train_classifier_job(
    *,
    images,
    index,
    split,
    out_model,
    out_history,
    out_curve,
    arch: str,
    size: int,
    training: dict,
    seed: int,
    weights_path=None,
    init: str = "",
    title: str = "",
    out_predictions=None,
    out_metrics=None,
    eval_seed: int = 0,
    n_boot: int = 1000,
    permute_seed: int | None = None,
) -> None:
    """Train, save, and (with ``out_predictions``/``out_metrics``) evaluate on the test split
    with the model still in memory: one TensorFlow start-up instead of two. ``permute_seed``:
    the data randomization test's classifier: the labels of the training split permuted among
    themselves, and those of the validation split among themselves (seeded; early stopping
    must not pick the epoch that fits the truth best); the test labels stay true, so the test
    AUROC says what the permuted model learnt of the truth."""
    from ..models.classifier import save_model, train_classifier
    from ..models.tf_setup import configure_tensorflow

    configure_tensorflow(training.get("threads"), seed=seed)
    data = load_data(images, index, split)
    labels = data.labels
    if permute_seed is not None:  # each split's labels among themselves (the test's stay)
        for k, name in enumerate(("train", "val")):
            labels = permuted_labels(labels, data.rows(name), permute_seed + k, name)
    model, history = train_classifier(
        data.images,
        labels,
        data.rows("train"),
        data.rows("val"),
        arch=arch,
        size=size,
        schedule=schedule(training, seed),
        weights_path=weights_path,
        augment=training.get("augment", False),
        bn_momentum=training.get("bn_momentum", 0.5),
        log=log,
    )
    save_model(model, out_model)
    _write_history(history, out_history, out_curve, title or arch, "val_auroc")
    if out_predictions is not None:
        _evaluate_and_write(
            model,
            data,
            out_model,
            out_predictions,
            out_metrics,
            seed=eval_seed,
            n_boot=n_boot,
            init=init or ("ImageNet" if weights_path else "random (trained from scratch)"),
        )


def permuted_labels(
    labels: np.ndarray, rows: np.ndarray, seed: int, split: str = "train"
) -> np.ndarray:
    """``labels`` with those of ``rows`` (the images of one ``split``) permuted among
    themselves."""
    out = np.array(labels, copy=True)
    out[rows] = out[rows][np.random.default_rng(seed).permutation(rows.size)]
    log.info(
        "labels of the %d %s images permuted (seed %d): %d of them changed",
        rows.size,
        split,
        seed,
        int((out[rows] != np.asarray(labels)[rows]).sum()),
    )
    return out


def import_classifier_job(*, source, out_model, size: int, backend: dict | None = None) -> None:
    """Bring your own: check a classifier (a ``.keras`` file, or a PyTorch model with a
    ``torch`` spec in ``backend``) and copy its file into the results. A PyTorch model must
    give one finite logit per image for a batch of two blank images."""
    import shutil

    import numpy as np

    from ..backends import configure, open_classifier, torch_spec

    backend = backend or {}
    spec = backend.get("spec")
    configure(spec, 1, seed=0)
    model = open_classifier(source, size=size, spec=spec)  # InputError names the file
    if torch_spec(spec) is not None:
        z = model.predict(np.zeros((2, *model.image_shape), np.float32))
        if z.shape != (2,) or not np.isfinite(z).all():
            raise InputError(f"{source}: expected one finite logit per image, got {z}")
        log.info(
            "%s: %s, %d parameters, logits of blank images %s",
            source,
            model.fmt,
            model.parameters(),
            np.round(z, 4).tolist(),
        )
    with io.atomic_path(out_model) as tmp:
        shutil.copyfile(source, tmp)
    log.info("imported %s", source)


def evaluate_classifier_job(
    *,
    model_path,
    images,
    index,
    split,
    out_predictions,
    out_metrics,
    size: int,
    seed: int,
    n_boot: int = 1000,
    batch_size: int = 32,
    threads: int | None = None,
    backend: dict | None = None,
) -> dict:
    """Test predictions and AUROC of an imported classifier (``backend``: common.smk's
    ``backend_params``, a ``torch`` spec for a PyTorch model)."""
    from ..backends import configure, open_classifier

    spec = (backend or {}).get("spec")
    device = (backend or {}).get("device")
    configure(spec, threads, seed=seed)
    data = load_data(images, index, split)
    model = open_classifier(model_path, size=size, spec=spec, device=device)
    return _evaluate_and_write(
        model,
        data,
        model_path,
        out_predictions,
        out_metrics,
        seed=seed,
        n_boot=n_boot,
        batch_size=batch_size,
        init="imported",
    )


def _evaluate_and_write(
    model, data, model_path, out_predictions, out_metrics, *, seed, n_boot, batch_size=32, init=""
) -> dict:
    from ..models.evaluate import evaluate_classifier

    table, summary = evaluate_classifier(
        model,
        data.images,
        data.labels,
        data.rows("test"),
        data.index["image_id"].to_numpy(),
        batch_size=batch_size,
        n_boot=n_boot,
        seed=seed,
    )
    summary = {
        "model_path": str(model_path),
        "init": init,
        "n_test": int(len(table)),
        "n_positive": int(table["label"].sum()),
        **summary,
    }
    io.write_csv(out_predictions, table)
    io.write_json(out_metrics, summary)
    log.info(
        "test AUROC %.3f (95%% CI %.3f-%.3f) on %d images",
        summary["auroc"],
        summary["ci_low"],
        summary["ci_high"],
        len(table),
    )
    return summary


def _boxes_per_row(boxes_csv, n: int) -> list[np.ndarray]:
    boxes = read_boxes(boxes_csv)
    out = [np.zeros((0, 4)) for _ in range(n)]
    for row, group in boxes.groupby("index"):
        out[int(row)] = group[["x0", "y0", "x1", "y1"]].to_numpy(dtype=np.float64)
    return out


def train_baseline_job(
    *,
    kind: str,
    images,
    masks,
    boxes,
    index,
    split,
    out_model,
    out_history,
    out_curve,
    size: int,
    params: dict,
    seed: int,
    threads: int | None = None,
    title: str = "",
) -> None:
    """Train a U-Net (``kind='unet'``, on masks) or RetinaNet (``'retinanet'``, on boxes)."""
    from ..models.tf_setup import configure_tensorflow

    configure_tensorflow(threads, seed=seed)
    data = load_data(images, index, split)
    common = dict(size=size, schedule=schedule(params, seed), log=log)
    if kind == "unet":
        from ..models.unet import train_unet

        model, history = train_unet(
            data.images,
            io.load_stack(masks),
            data.rows("train", ground_truth=True),
            data.rows("val", ground_truth=True),
            base_filters=params["base_filters"],
            depth=params["depth"],
            **common,
        )
        extra = "val_dice"
    elif kind == "retinanet":
        from ..models.retinanet import train_retinanet

        model, history = train_retinanet(
            data.images,
            _boxes_per_row(boxes, len(data.index)),
            data.rows("train", ground_truth=True),
            data.rows("val", ground_truth=True),
            backbone=params["backbone"],
            anchor_size=params["anchor_size"],
            **common,
        )
        extra = None
    else:
        raise InputError(f"unknown baseline kind {kind!r}; expected unet or retinanet")
    with io.atomic_path(out_model) as tmp:
        model.save(tmp)
    _write_history(history, out_history, out_curve, title or kind, extra)


def baseline_maps_job(
    *,
    kind: str,
    model_path,
    images,
    index,
    split,
    out_maps,
    out_rows,
    size: int,
    params: dict,
    seed: int,
    threads: int | None = None,
    configure: bool = True,
) -> None:
    """Score maps of a trained baseline on every test image: float16 ``(n_test, S, S)``,
    streamed batch by batch into the memory map. ``configure=False``: TensorFlow is already
    set up (the training job writes the maps right after training)."""
    from ..models.tf_setup import configure_tensorflow

    if configure:
        configure_tensorflow(threads, seed=seed)
    data = load_data(images, index, split)
    rows = data.rows("test")
    with io.open_memmap_atomic(out_maps, (len(rows), size, size), np.float16) as out:
        if kind == "unet":
            from ..models.unet import load_unet, predict_maps

            predict_maps(load_unet(model_path), data.images, rows, out=out)
        elif kind == "retinanet":
            from ..models.retinanet import load_retinanet, predict_score_maps

            predict_score_maps(
                load_retinanet(model_path),
                data.images,
                rows,
                score_threshold=params["score_threshold"],
                out=out,
            )
        else:
            raise InputError(f"unknown baseline kind {kind!r}; expected unet or retinanet")
    io.write_csv(
        out_rows,
        pd.DataFrame(
            {
                "row": np.arange(len(rows)),
                "index": rows,
                "image_id": data.index["image_id"].to_numpy()[rows],
            }
        ),
    )
    log.info("%s maps for %d test images", kind, len(rows))


def classifier_table_job(*, metrics: dict[str, str], dataset: str, out_csv) -> pd.DataFrame:
    """One row per classifier: test AUROC with its bootstrap 95% CI. ``metrics``: model ->
    its ``test_metrics.json``."""
    import json

    rows = []
    for model, path in metrics.items():
        with open(path) as fh:
            m = json.load(fh)
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "init": m.get("init", ""),
                "n_test": m["n_test"],
                "n_positive": m["n_positive"],
                "auroc": m["auroc"],
                "ci_low": m["ci_low"],
                "ci_high": m["ci_high"],
            }
        )
    table = pd.DataFrame(rows).round({"auroc": 4, "ci_low": 4, "ci_high": 4})
    io.write_csv(out_csv, table)
    return table
