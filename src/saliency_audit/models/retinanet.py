"""RetinaNet (keras-hub), built from scratch offline: the detection high baseline.

The detector is ``keras_hub.models.RetinaNetObjectDetector`` on a ``RetinaNetBackbone`` whose
image encoder is a ``keras_hub.models.ResNetBackbone`` built from its config (no preset, no
download, random initialisation).  Inputs are ``float32 (N, S, S, 3)`` in [-1, 1]
(:func:`saliency_audit.preprocess.to_model_input`); boxes are ``xyxy`` in pixels with exclusive
far edges (``x1 = x0 + width``).  Detections become score maps with :func:`boxes_to_score_map`.

Box conventions: the workflow's boxes are inclusive pixel boxes ``(x0, y0, x1, y1)`` (pixels
``x0..x1`` covered); :func:`inclusive_to_edges` converts them to edges ``(x0, y0, x1 + 1,
y1 + 1)``, the convention used by the detector and by :func:`boxes_to_score_map`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..preprocess import to_model_input
from . import _loop as loop
from .tf_setup import graph_optimizer_off

logger = logging.getLogger(__name__)

CLASS_PRIOR = 0.01  # initial foreground probability of every anchor (RetinaNet paper)

# ResNet image encoders (keras-hub ResNetBackbone configs, ResNet-v1 "basic"/"bottleneck").
BACKBONES: dict[str, dict] = {
    "tiny": {
        "stackwise_num_filters": [64, 32, 32, 32],
        "stackwise_num_blocks": [1, 1, 1, 1],
        "block_type": "basic_block",
    },
    "resnet18": {
        "stackwise_num_filters": [64, 128, 256, 512],
        "stackwise_num_blocks": [2, 2, 2, 2],
        "block_type": "basic_block",
    },
    "resnet34": {
        "stackwise_num_filters": [64, 128, 256, 512],
        "stackwise_num_blocks": [3, 4, 6, 3],
        "block_type": "basic_block",
    },
    "resnet50": {
        "stackwise_num_filters": [64, 128, 256, 512],
        "stackwise_num_blocks": [3, 4, 6, 3],
        "block_type": "bottleneck_block",
    },
}


# --------------------------------------------------------------------------- box maps


def inclusive_to_edges(boxes) -> np.ndarray:
    """Inclusive pixel boxes ``(x0, y0, x1, y1)`` -> edge boxes ``(x0, y0, x1 + 1, y1 + 1)``."""
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4).copy()
    b[:, 2:] += 1.0
    return b


def boxes_to_score_map(boxes, scores, size: int | tuple[int, int]) -> np.ndarray:
    """Rasterise scored boxes into a ``float32 (H, W)`` map; overlaps take the max score.

    ``boxes``: ``(k, 4)`` edge boxes ``(x0, y0, x1, y1)`` in pixels (x = column, y = row); a
    pixel ``(r, c)`` is covered when its centre ``(c + 0.5, r + 0.5)`` lies in
    ``[x0, x1) x [y0, y1)``, so integer edges ``(2, 1, 5, 3)`` cover columns 2..4 of rows 1..2.
    Boxes are clipped to the image; empty boxes cover nothing.  Uncovered pixels are 0.
    """
    h, w = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float32).reshape(-1)
    if len(b) != len(s):
        raise InputError(f"{len(b)} boxes but {len(s)} scores")
    out = np.zeros((h, w), dtype=np.float32)
    # first covered index: ceil(x0 - 0.5); one past the last: ceil(x1 - 0.5)
    c0 = np.clip(np.ceil(b[:, 0] - 0.5), 0, w).astype(int)
    r0 = np.clip(np.ceil(b[:, 1] - 0.5), 0, h).astype(int)
    c1 = np.clip(np.ceil(b[:, 2] - 0.5), 0, w).astype(int)
    r1 = np.clip(np.ceil(b[:, 3] - 0.5), 0, h).astype(int)
    for i in range(len(b)):
        if c1[i] > c0[i] and r1[i] > r0[i]:
            view = out[r0[i] : r1[i], c0[i] : c1[i]]
            np.maximum(view, s[i], out=view)
    return out


# --------------------------------------------------------------------------- model


def default_max_level(size: int) -> int:
    """Highest pyramid level (<= 7) whose feature map is at least 2x2 at ``size`` px."""
    return int(max(3, min(7, math.floor(math.log2(max(int(size), 8))) - 1)))


def build_retinanet(
    size: int,
    *,
    backbone: str = "tiny",
    min_level: int = 3,
    max_level: int | None = None,
    anchor_size: float = 4.0,
    head_convs: int = 1,
    score_floor: float = 0.05,
    max_detections: int = 100,
):
    """A one-class ``keras_hub`` RetinaNet for ``size`` x ``size`` x 3 inputs, randomly initialised.

    ``anchor_size`` scales the base anchor relative to each level's stride (keras-hub default
    4: 32 px anchors at P3); use smaller values for small images/lesions.  Detections below
    ``score_floor`` are dropped by the non-max suppression decoder.  ``head_convs``: 3x3
    convolutions (256 channels, keras-hub's fixed width) before each prediction layer;
    keras-hub's default is 4, but on a CPU they dominate the cost (at 128 px each one costs
    about as much as the whole ``tiny`` encoder), and 1 trains better on a few hundred images.
    """
    import keras_hub

    if backbone not in BACKBONES:
        raise InputError(f"unknown RetinaNet backbone {backbone!r}; valid: {', '.join(BACKBONES)}")
    size = int(size)
    if size < 32:
        raise InputError(f"RetinaNet needs images of at least 32 px, got {size}")
    max_level = default_max_level(size) if max_level is None else int(max_level)
    shape = (size, size, 3)
    encoder = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[7],
        stackwise_num_strides=[1, 2, 2, 2],
        image_shape=shape,
        **BACKBONES[backbone],
    )
    retina_backbone = keras_hub.models.RetinaNetBackbone(
        image_encoder=encoder,
        min_level=min_level,
        max_level=max_level,
        use_p5=False,
        image_shape=shape,
    )
    anchors = keras_hub.layers.AnchorGenerator(
        "xyxy",
        min_level=min_level,
        max_level=max_level,
        num_scales=3,
        aspect_ratios=[0.5, 1.0, 2.0],
        anchor_size=float(anchor_size),
    )
    decoder = keras_hub.layers.NonMaxSuppression(
        bounding_box_format="xyxy",
        from_logits=True,
        iou_threshold=0.5,
        confidence_threshold=float(score_floor),
        max_detections=int(max_detections),
    )
    model = keras_hub.models.RetinaNetObjectDetector(
        backbone=retina_backbone,
        num_classes=1,
        bounding_box_format="xyxy",
        anchor_generator=anchors,
        pre_logits_num_conv_layers=int(head_convs),
        prediction_decoder=decoder,
    )
    # keras-hub 0.32 puts the focal-loss prior bias (-log(99)) on the *box* head and zeros on
    # the classification head; the RetinaNet paper does the opposite.  With the prior on the
    # box deltas every initial box is exp(-4.6) times its anchor and Adam needs thousands of
    # steps to undo it, so swap them back (training from scratch only; presets are unaffected).
    prior = -math.log((1.0 - CLASS_PRIOR) / CLASS_PRIOR)
    box_bias = model.box_head.prediction_layer.bias
    cls_bias = model.classification_head.prediction_layer.bias
    box_bias.assign(np.zeros(box_bias.shape, dtype="float32"))
    cls_bias.assign(np.full(cls_bias.shape, prior, dtype="float32"))
    return model


def anchor_boxes(model, size: int) -> np.ndarray:
    """All anchors of ``model`` at ``size`` px as ``float32 (A, 4)`` xyxy edge boxes."""
    import keras

    anchors = model.anchor_generator(keras.ops.zeros((1, int(size), int(size), 3)))
    return np.concatenate([np.asarray(a) for a in anchors.values()], axis=0).astype(np.float32)


def max_anchor_iou(boxes, anchors: np.ndarray) -> np.ndarray:
    """For each edge box ``(k, 4)``, the best IoU with any anchor ``(A, 4)``; ``(k,)``."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)[:, None, :]
    a = np.asarray(anchors, dtype=np.float64)[None, :, :]
    iw = np.clip(np.minimum(b[..., 2], a[..., 2]) - np.maximum(b[..., 0], a[..., 0]), 0, None)
    ih = np.clip(np.minimum(b[..., 3], a[..., 3]) - np.maximum(b[..., 1], a[..., 1]), 0, None)
    inter = iw * ih
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    iou = inter / np.maximum(area(b) + area(a) - inter, 1e-12)
    return iou.max(axis=1) if iou.size else np.zeros(len(b))


def set_bn_momentum(model, momentum: float) -> int:
    """Set the moving-average momentum of every BatchNormalization layer of ``model``, nested
    ones (the ResNet encoder) included; returns how many layers changed.

    Keras' default 0.99 needs hundreds of steps for the moving statistics used at inference to
    catch up with the weights; a few hundred steps of a small data set leave them stale and the
    validation loss erratic.  Used for training only (a reloaded model keeps its statistics).
    """
    import keras

    momentum = float(momentum)
    if not 0.0 <= momentum < 1.0:
        raise InputError(f"bn_momentum must lie in [0, 1), got {momentum}")
    layers = [
        la
        for la in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(la, keras.layers.BatchNormalization)
    ]
    for layer in layers:
        layer.momentum = momentum
    return len(layers)


def _pad_boxes(boxes_per_image: Sequence, rows: np.ndarray, max_boxes: int) -> dict:
    boxes = np.full((len(rows), max_boxes, 4), -1.0, dtype=np.float32)
    labels = np.full((len(rows), max_boxes), -1.0, dtype=np.float32)
    for j, r in enumerate(rows):
        b = (
            inclusive_to_edges(boxes_per_image[r])
            if len(boxes_per_image[r])
            else np.zeros((0, 4), np.float32)
        )
        boxes[j, : len(b)] = b
        labels[j, : len(b)] = 0.0
    return {"boxes": boxes, "labels": labels}


def _check_boxes(boxes_per_image: Sequence, n: int, size: int) -> int:
    if len(boxes_per_image) != n:
        raise InputError(f"boxes_per_image has {len(boxes_per_image)} entries for {n} images")
    max_boxes = 1
    for i, b in enumerate(boxes_per_image):
        arr = np.asarray(b, dtype=np.float64).reshape(-1, 4) if len(b) else np.zeros((0, 4))
        if arr.size and (
            (arr[:, 2] < arr[:, 0]).any()
            or (arr[:, 3] < arr[:, 1]).any()
            or arr.min() < 0
            or arr.max() >= size
        ):
            raise InputError(
                f"boxes_per_image[{i}]: boxes must be inclusive (x0, y0, x1, y1) "
                f"with 0 <= x0 <= x1 < {size}; got {arr.tolist()}"
            )
        max_boxes = max(max_boxes, len(arr))
    return max_boxes


def train_retinanet(
    images: np.ndarray,
    boxes_per_image: Sequence,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    *,
    size: int,
    schedule: loop.Schedule,
    log: logging.Logger = logger,
    backbone: str = "tiny",
    anchor_size: float = 4.0,
    head_convs: int = 1,
    min_level: int = 3,
    clipnorm: float = 10.0,
    bn_momentum: float | None = 0.9,
    val_batch_size: int = 64,
) -> tuple[object, pd.DataFrame]:
    """Train a one-class RetinaNet on rows ``train_idx`` of uint8 ``images`` ``(N, S, S)``.

    ``boxes_per_image[i]``: ``(k_i, 4)`` inclusive pixel boxes ``(x0, y0, x1, y1)`` at size S
    (``k_i = 0`` for negatives; negatives teach the background).  Focal loss + Huber box loss
    (keras-hub defaults), Adam(``learning_rate``, global clipnorm; as :class:`loop.FusedAdam`),
    seeded order and initialisation, early stopping on validation loss when ``patience`` is
    given.  History columns: ``epoch, loss, val_loss, seconds, images_per_s, best``.

    Speed (2 CPU cores): the prediction heads (``head_convs`` 3x3 convolutions of 256
    channels on every pyramid level, twice) cost far more than the encoder, so the default is
    1 of them, not keras-hub's 4; ``min_level=4`` drops the finest level (4x fewer head
    positions) at the cost of coarser anchors.  Every training batch has ``batch_size``
    images (the last partial batch of each shuffled epoch is dropped) and validation runs in
    batches of ``val_batch_size``, so the training and validation steps are each traced once,
    without the Grappler graph optimiser (it costs seconds per trace, saves nothing here).
    ``bn_momentum`` (None: Keras' 0.99) is the BatchNormalization momentum while training.
    """
    batch_size, learning_rate = schedule.batch_size, schedule.learning_rate
    seed = schedule.seed
    import keras

    loop.check_stack("images", images, size)
    n = images.shape[0]
    max_boxes = _check_boxes(boxes_per_image, n, size)
    train_idx = loop.check_indices("train_idx", train_idx, n)
    val_idx = loop.check_indices("val_idx", val_idx, n, allow_empty=True)
    if int(val_batch_size) < 1:
        raise InputError(f"val_batch_size must be >= 1, got {val_batch_size}")

    keras.utils.set_random_seed(int(seed))
    model = build_retinanet(
        size, backbone=backbone, anchor_size=anchor_size, head_convs=head_convs, min_level=min_level
    )
    if bn_momentum is not None:
        set_bn_momentum(model, bn_momentum)
    model.compile(
        optimizer=loop.FusedAdam(
            learning_rate=float(learning_rate), global_clipnorm=float(clipnorm)
        ),
        jit_compile=False,
    )

    def make_batch(rows, rng):
        return to_model_input(loop.read_rows(images, rows)), _pad_boxes(
            boxes_per_image, rows, max_boxes
        )

    train_boxes = [
        inclusive_to_edges(boxes_per_image[r]) for r in train_idx if len(boxes_per_image[r])
    ]
    if train_boxes:
        best = max_anchor_iou(np.concatenate(train_boxes), anchor_boxes(model, size))
        unmatched = float(np.mean(best < 0.5))
        if unmatched > 0:
            log.warning(
                "%.0f%% of training boxes overlap no anchor with IoU >= 0.5 and teach "
                "nothing (anchor_size=%s); consider a smaller/larger anchor_size",
                100 * unmatched,
                anchor_size,
            )
    else:
        log.warning("no training image has a box: RetinaNet learns background only")

    train = loop.Batches(
        train_idx, batch_size, make_batch, shuffle=True, seed=seed, drop_remainder=True
    )
    # equal-sized validation chunks (one trace): ceil(n / ceil(n / val_batch_size)) each
    n_val_chunks = max(1, math.ceil(len(val_idx) / int(val_batch_size)))
    val_chunks = np.array_split(val_idx, n_val_chunks) if val_idx.size else []

    def evaluate(m) -> dict:
        if val_idx.size == 0:
            return {"val_loss": math.nan}
        total = 0.0
        for rows in val_chunks:
            x, y = make_batch(rows, None)
            # keras.Model's own test_on_batch: keras-hub's override rejects dict targets
            logs = keras.Model.test_on_batch(m, x, y, return_dict=True)
            total += float(logs["loss"]) * len(rows)
        return {"val_loss": total / len(val_idx)}

    with graph_optimizer_off():
        history = loop.fit_loop(
            model,
            train,
            evaluate=evaluate,
            schedule=schedule,
            log=log,
            name="retinanet",
            train_on_batch=lambda x, y: keras.Model.train_on_batch(model, x, y, return_dict=True),
        )
    return model, history


def load_retinanet(path):
    """Load a detector saved with :func:`saliency_audit.models.classifier.save_model`.

    Imports keras-hub first (it registers the RetinaNet classes); InputError naming the file
    when it is missing or not a keras-hub RetinaNet.
    """
    from pathlib import Path

    import keras_hub

    path = Path(path)
    model = loop.load_keras_file(path, "RetinaNet model")
    if not isinstance(model, keras_hub.models.RetinaNetObjectDetector):
        raise InputError(
            f"{path}: expected a keras-hub RetinaNetObjectDetector, found {type(model).__name__}"
        )
    return model


def predict_boxes(
    model, images: np.ndarray, idx: np.ndarray, *, score_threshold: float, batch_size: int = 8
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Detections per image: ``[(edge boxes (k, 4) float32, scores (k,) float32), ...]``."""
    loop.check_stack("images", images)
    idx = loop.check_indices("idx", idx, images.shape[0], allow_empty=True)
    result = []
    batch_size = int(batch_size)
    for start in range(0, len(idx), batch_size):
        rows = idx[start : start + batch_size]
        x = to_model_input(loop.read_rows(images, rows))
        # Eager forward pass + keras-hub's decoder (anchor decoding, NMS).  Not model.predict /
        # predict_on_batch: keras-hub's NMS fails once Keras retraces with a dynamic batch size,
        # and its decoder cannot unpack predict_on_batch's batch structure.
        pred = model.decode_predictions(model(x, training=False), x)
        boxes = np.asarray(pred["boxes"], dtype=np.float32)
        conf = np.asarray(pred["confidence"], dtype=np.float32)
        count = np.asarray(pred["num_detections"]).astype(int)
        for j in range(len(rows)):
            b, c = boxes[j, : count[j]], conf[j, : count[j]]
            keep = c >= score_threshold
            result.append((b[keep], c[keep]))
    return result


def predict_score_maps(
    model,
    images: np.ndarray,
    idx: np.ndarray,
    *,
    score_threshold: float,
    batch_size: int = 8,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Score maps ``float32 (len(idx), S, S)`` in [0, 1]: every detection with confidence
    ``>= score_threshold`` is filled with its confidence; overlaps take the max.

    ``out`` (e.g. a memory map of that shape) is filled in place and returned when given.
    """
    loop.check_stack("images", images)
    s = images.shape[1]
    n = len(np.asarray(idx).reshape(-1))
    if out is None:
        out = np.empty((n, s, s), dtype=np.float32)
    elif out.shape != (n, s, s):
        raise InputError(f"out: expected shape {(n, s, s)}, got {out.shape}")
    dets = predict_boxes(model, images, idx, score_threshold=score_threshold, batch_size=batch_size)
    for j, (b, c) in enumerate(dets):
        out[j] = boxes_to_score_map(b, np.clip(c, 0.0, 1.0), s)
    return out
