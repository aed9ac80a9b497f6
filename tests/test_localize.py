"""cheXlocalize's protocol: known answers for segmentation, gating, ensembles, slices, the
benchmark comparison, pathology characteristics, the JSON round trip and the whole job."""

import json

import numpy as np
import pandas as pd
import pytest

from saliency_audit import io
from saliency_audit.errors import InputError
from saliency_audit.jobs.localize import localize_job, needs, protocol_images
from saliency_audit.localize import features as F
from saliency_audit.localize import interop
from saliency_audit.localize import protocol as L

SIZE = 24


def blobs(n, seed=0, size=SIZE):
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, size, size), bool)
    for i in range(n):
        y, x = rng.integers(2, size - 10, 2)
        masks[i, y : y + 7, x : x + 6] = True
    return masks


# ----------------------------------------------------------------------------- protocol
@pytest.mark.parametrize("threshold", [*L.THRESHOLD_GRID, None])
def test_map_equal_to_mask_scores_iou_one_at_any_threshold(threshold):
    masks = blobs(5)
    seg = L.segment(masks.astype(np.float32) * 3.0 + 1.0, threshold)  # any affine scale
    np.testing.assert_array_equal(seg, masks)
    for slice_ in L.SLICES:
        np.testing.assert_allclose(L.iou_values(seg, masks, slice_), 1.0)


def test_constant_map_gives_a_blank_segmentation():
    assert not L.segment(np.full((2, 8, 8), 0.7, np.float32), 0.2).any()
    assert not L.segment(np.full((2, 8, 8), 0.7, np.float32), None).any()


def test_gating_above_every_probability_blanks_everything_and_scores_zero_on_positives():
    masks = blobs(4)
    seg = L.segment(masks.astype(np.float32), 0.5)
    gated = L.gate(seg, [0.1, 0.5, 0.9, 0.99], cutoff=1.0)
    assert not gated.any()
    np.testing.assert_array_equal(L.iou_values(gated, masks, "positives"), 0.0)
    # the true-positive slice leaves blank segmentations out (cheXlocalize's eval.py)
    assert np.isnan(L.iou_values(gated, masks, "true_positives")).all()
    # a cutoff of None changes nothing; below the cutoff only
    np.testing.assert_array_equal(L.gate(seg, [0.1] * 4, None), seg)
    np.testing.assert_array_equal(
        L.gate(seg, [0.1, 0.5, 0.9, 0.99], 0.5).any(axis=(1, 2)), [False, True, True, True]
    )


def test_slice_all_scores_false_positives_zero_and_skips_correct_blanks():
    gt = np.zeros((3, 8, 8), bool)
    gt[0, :4] = True
    pred = np.zeros_like(gt)
    pred[0, :2] = True  # half of the lesion
    pred[1, 5:] = True  # a negative with a segmentation
    values = L.iou_values(pred, gt, "all")
    np.testing.assert_allclose(values[:2], [0.5, 0.0])
    assert np.isnan(values[2])  # negative, blank: correct, not scored
    assert np.isnan(L.iou_values(pred, gt, "positives")[1:]).all()


def test_ensemble_of_identical_replicates_equals_each():
    maps = np.random.default_rng(1).random((3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(L.ensemble([maps, maps]), L.normalize(maps), atol=1e-7)
    # replicates on other scales are normalised first
    np.testing.assert_allclose(L.ensemble([maps, 10 * maps + 2]), L.normalize(maps), atol=1e-6)


def test_threshold_tuning_picks_the_best_and_lowest_of_ties():
    masks = blobs(6)
    maps = np.where(masks, 0.55, 0.0).astype(np.float32)
    maps[:, 0, 0] = 1.0  # normalised lesion value 0.55: every threshold below it is perfect
    t = L.tune_segmentation_threshold(maps, masks)
    assert t == 0.2
    seg = L.segment(maps, t)
    np.testing.assert_allclose(L.iou_values(seg, masks | (maps == 1.0), "positives"), 1.0)
    with pytest.raises(InputError, match="no validation image"):
        L.tune_segmentation_threshold(maps, np.zeros_like(masks))


def test_probability_cutoff_removes_false_positives_of_unsure_negatives():
    masks = np.concatenate([blobs(3), np.zeros((3, SIZE, SIZE), bool)])
    seg = masks.copy()
    seg[3:, :5, :5] = True  # every negative gets a false segmentation
    probs = [0.9, 0.8, 0.7, 0.1, 0.2, 0.3]
    assert L.tune_probability_cutoff(seg, masks, probs) == 0.4  # the lowest cutoff above 0.3
    # with no false positives, no gating is best: the lowest cutoff
    assert L.tune_probability_cutoff(masks, masks, probs) == 0.0


def test_pixel_rates_pool_the_pixels():
    gt = np.zeros((2, 4, 4), bool)
    gt[0, :2] = True  # 8 lesion pixels
    pred = np.zeros_like(gt)
    pred[0, :1] = True  # 4 true positives
    pred[1, :1] = True  # 4 false positives
    rates = L.pixel_rates(pred, gt)
    assert rates == {"precision": 0.5, "recall": 0.5, "specificity": 20 / 24}
    assert np.isnan(L.pixel_rates(pred, gt, np.array([False, True]))["recall"])


def test_comparison_of_equal_scores_is_zero_and_percentage_decrease_is_relative():
    idx = L.bootstrap_indices(20, 300, seed=0)
    a = np.linspace(0.2, 0.6, 20)
    same = L.compare(a, a, idx)
    assert same["difference"] == 0 and same["pct_decrease"] == 0
    assert same["difference_lo"] == same["difference_hi"] == 0
    half = L.compare(a / 2, a, idx)
    assert half["pct_decrease"] == pytest.approx(50.0)
    assert half["pct_decrease_lo"] == pytest.approx(50.0) == half["pct_decrease_hi"]
    ci = L.mean_ci(a, idx)
    assert ci["lo"] < ci["mean"] < ci["hi"] and ci["n"] == 20


def test_cross_fit_never_scores_an_image_with_its_own_threshold():
    masks = blobs(8)
    maps = np.where(masks, 0.8, 0.1).astype(np.float32)
    seg, thresholds = L.cross_fit_segment(maps, masks, seed=3)
    np.testing.assert_allclose(L.iou_values(seg, masks, "positives"), 1.0)
    assert not np.isnan(thresholds).any()


# ----------------------------------------------------------------------------- features
def test_features_of_known_shapes():
    rect = np.zeros((20, 30), bool)
    rect[2:6, 3:15] = True  # 4 x 12
    f = F.mask_features(rect)
    assert f["n_regions"] == 1 and f["area_fraction"] == pytest.approx(48 / 600)
    assert f["elongation"] == pytest.approx(3.0) and f["irrectangularity"] == pytest.approx(0)
    two = rect.copy()
    two[10:12, 20:22] = True
    assert F.mask_features(two)["n_regions"] == 2
    tri = np.tril(np.ones((40, 40), bool))  # a right triangle: about half its rectangle
    t = F.mask_features(tri)
    assert 0.45 < t["irrectangularity"] < 0.52
    bar = np.zeros((60, 60), bool)
    for k in range(50):  # a diagonal bar 3 pixels wide: long, thin, rotated 45 degrees
        bar[5 + k, 5 + k : 8 + k] = True
    b = F.mask_features(bar)
    assert b["elongation"] > 10 and b["irrectangularity"] < 0.35
    assert np.isnan(F.mask_features(np.zeros((5, 5), bool))["elongation"])


def test_regression_recovers_a_known_slope():
    x = np.linspace(0, 10, 30)
    fit = F.regress(0.2 + 0.05 * x, x)  # scaled to [0, 1], the slope is 0.05 * 10
    assert fit["slope"] == pytest.approx(0.5) and fit["p"] < 1e-6 and fit["spearman"] == 1
    assert np.isnan(F.regress(np.ones(5), np.arange(5.0))["slope"])


# ----------------------------------------------------------------------------- interop
def test_chexlocalize_json_round_trip(tmp_path):
    masks = blobs(3)
    path = tmp_path / "seg.json"
    interop.write_segmentations(path, ["a", "b", "c"], masks, "Lung Opacity")
    data = json.loads(path.read_text())
    assert set(data) == {"a", "b", "c"}
    from pycocotools import mask as mask_utils

    for k, entry in enumerate(data.values()):  # as eval.py reads them: every task, every image
        for task in interop.LOCALIZATION_TASKS:
            decoded = mask_utils.decode(entry[task])
            expected = masks[k] if task == "Airspace Opacity" else np.zeros((SIZE, SIZE))
            np.testing.assert_array_equal(decoded, expected)
    ids, back = interop.read_segmentations(path, "Lung Opacity", ["c", "a"])
    assert ids == ["c", "a"]
    np.testing.assert_array_equal(back, masks[[2, 0]])
    with pytest.raises(InputError, match="'zz'"):
        interop.read_segmentations(path, "Lung Opacity", ["zz"])


# ----------------------------------------------------------------------------- the job
LABELS = np.array([1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0])


def _dataset(tmp, seed=0, labels=LABELS):
    """A dataset of 12 images: val 0-5 (3 positive), test 6-11 (3 positive)."""
    masks = blobs(12, seed) & labels[:, None, None].astype(bool)
    ids = [f"img{i:02d}" for i in range(12)]
    np.save(tmp / "masks.npy", masks.astype(np.uint8))
    pd.DataFrame({"index": range(12), "image_id": ids, "label": labels}).to_csv(
        tmp / "index.csv", index=False
    )
    split = ["val"] * 6 + ["test"] * 6
    pd.DataFrame({"Image_ID": ids, "Split": split}).to_csv(tmp / "split.csv")
    pd.DataFrame({"index": [6, 7, 8], "image_id": ids[6:9], "sampled": True}).to_csv(
        tmp / "positives.csv", index=False
    )
    return ids, labels, masks


def _maps(tmp, name, ids, stack):
    io.write_json(tmp / f"{name}.json", {"image_ids": ids})
    np.save(tmp / f"{name}.npy", stack.astype(np.float16))
    return {"maps": str(tmp / f"{name}.npy"), "meta": str(tmp / f"{name}.json")}


def _run(tmp, settings, test_maps, val_maps, human=None, out="out", labels=LABELS):
    ids, labels, masks = _dataset(tmp, labels=labels)
    settings = {
        "threshold": "validation",
        "grid": list(L.THRESHOLD_GRID),
        "gating": True,
        "probability_grid": list(L.PROBABILITY_GRID),
        "evaluate_on": "all",
        "benchmark_threshold": 0.5,
        "n_boot": 200,
        "level": 0.95,
        "seed": 1,
        **settings,
    }
    extra = protocol_images(tmp / "index.csv", tmp / "split.csv", needs(settings))
    extra_ids = extra["image_id"].tolist()
    probs = pd.DataFrame({"image_id": ids, "probability": np.where(labels, 0.9, 0.2)})
    probs.to_csv(tmp / "probs.csv", index=False)
    rows = extra["index"].to_numpy()
    stack = (
        np.stack([val_maps[r] if r < 6 else test_maps[r] for r in rows])
        if len(rows)
        else (np.zeros((0, SIZE, SIZE)))
    )
    models = {}
    for model in ("m_r1", "m_r2"):
        models[model] = {
            "probabilities": str(tmp / "probs.csv"),
            "maps": {
                "GCAM": {
                    "test": _maps(tmp, f"{model}_test", ids[6:9], test_maps[6:9]),
                    "extra": _maps(tmp, f"{model}_extra", extra_ids, stack),
                }
            },
        }
    o = tmp / out
    outputs = {
        n: str(o / f"{n}.csv")
        for n in ("per_image", "thresholds", "summary", "comparisons", "regressions")
    }
    outputs.update(
        section=str(o / "section.md"), figure=str(o / "fig.png"), ground_truth=str(o / "gt.json")
    )
    segs = {m: {"GCAM": str(o / f"{m}.json")} for m in ("m_r1", "m_r2", "m_ensemble")}
    localize_job(
        dataset="toy",
        finding="Pneumothorax",
        positives=tmp / "positives.csv",
        masks=tmp / "masks.npy",
        index=tmp / "index.csv",
        split=tmp / "split.csv",
        models=models,
        ensembles={"m_ensemble": ["m_r1", "m_r2"]},
        benchmarks={},
        human=human,
        settings=settings,
        primary="m_r1",
        out=outputs,
        out_segmentations=segs,
        log=__import__("logging").getLogger("test"),
    )
    return o, masks


def test_job_tunes_on_validation_only_and_writes_every_file(tmp_path):
    masks = _dataset(tmp_path)[2]
    val_maps = np.where(masks, 0.5, 0.0).astype(np.float32)
    val_maps[:, 0, 0] = 1.0  # normalised lesion 0.5: thresholds 0.2-0.4 are perfect on val
    test_maps = np.where(masks, 0.35, 0.0).astype(np.float32)
    test_maps[:, 0, 0] = 1.0  # at 0.4 the lesion is lost; 0.2 or 0.3 would find it
    out, _ = _run(tmp_path, {}, test_maps, val_maps)
    t = pd.read_csv(out / "thresholds.csv")
    assert (t["threshold"] == 0.2).all()  # the lowest of validation's ties, not test's best
    # other test maps, same validation: the thresholds do not move
    out2, _ = _run(tmp_path, {}, np.zeros_like(test_maps), val_maps, out="out2")
    t2 = pd.read_csv(out2 / "thresholds.csv")
    pd.testing.assert_frame_equal(t.drop(columns=["dataset"]), t2.drop(columns=["dataset"]))
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["model"]) == {"m_r1", "m_r2", "m_ensemble"}
    assert set(summary["metric"]) == {"miou", "hit_rate", "precision", "recall", "specificity"}
    section = (out / "section.md").read_text()
    assert "Localisation (cheXlocalize protocol)" in section and "m_ensemble" in section
    ids, seg = interop.read_segmentations(out / "m_r1.json", "Pneumothorax")
    assert len(ids) == 6  # three positive and three negative test images
    assert (out / "fig.png").stat().st_size > 0


def test_job_against_a_human_benchmark_equal_to_the_ground_truth(tmp_path):
    masks = _dataset(tmp_path)[2]
    maps = masks.astype(np.float32)
    gt_path = tmp_path / "hb.json"
    ids = [f"img{i:02d}" for i in range(12)]
    interop.write_segmentations(gt_path, ids[6:9], masks[6:9], "Pneumothorax")  # positives only
    out, _ = _run(tmp_path, {"evaluate_on": "positives"}, maps, maps, human=str(gt_path))
    comp = pd.read_csv(out / "comparisons.csv")
    row = comp[(comp["model"] == "m_r1") & (comp["metric"] == "miou")].iloc[0]
    assert row["benchmark"] == "HUMAN" and row["benchmark_value"] == 1.0
    assert row["difference"] == 0 and row["pct_decrease"] == 0
    summary = pd.read_csv(out / "summary.csv")
    human = summary[
        (summary["model"] == "HUMAN")
        & (summary["metric"] == "miou")
        & (summary["slice"] == "positives")
    ]
    assert human["mean"].iloc[0] == 1.0


def test_job_without_validation_positives_names_the_config_key(tmp_path):
    labels = LABELS.copy()
    labels[:3] = 0  # no positive validation image
    maps = np.zeros((12, SIZE, SIZE), np.float32)
    with pytest.raises(InputError, match="localize.threshold"):
        _run(tmp_path, {}, maps, maps, labels=labels)
    # cross-fitting on the test split needs none
    out, _ = _run(tmp_path, {"threshold": "cross_fit", "gating": False}, maps, maps, labels=labels)
    assert (out / "section.md").exists()


def test_needs_follow_the_settings():
    assert needs({"threshold": "otsu", "gating": False, "evaluate_on": "positives"}) == {
        "val_positives": False,
        "val_negatives": False,
        "test_negatives": False,
    }
    assert needs({"threshold": "validation", "gating": True, "evaluate_on": "all"}) == {
        "val_positives": True,
        "val_negatives": True,
        "test_negatives": True,
    }
