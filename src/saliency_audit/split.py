"""Train/validation/test splits and the positive test sample.

The split CSV has the paper's format: a pandas index column with an empty header, then
``Image_ID`` and ``Split`` (``,Image_ID,Split``).  Without a given CSV the split is made
here: patient-level (no patient crosses splits, by the salted patient hash) and stratified
by label, with the paper's 81/9/10 proportions by default, seeded.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .convert import scorable
from .errors import InputError

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
    "holdout": "test",
}


def make_split(index: pd.DataFrame, fractions: dict[str, float], seed: int) -> pd.DataFrame:
    """Patient-level, label-stratified split; returns ``image_id, split`` in index order.

    Patients are labelled positive when any of their images is.  Within each label stratum
    the patients are shuffled with ``seed`` and cut by the cumulative ``fractions``
    (largest-remainder rounding, so counts add up exactly).  Positive patients none of whose
    positives has ground truth (``annotated`` 0, kept with ``unannotated: train``) form a
    third stratum cut between train and val only (in the train:val ratio): no map can be
    scored on them.
    """
    total = sum(fractions[s] for s in SPLITS)
    if not np.isclose(total, 1.0, atol=1e-6):
        raise InputError(f"config key split.fractions: train+val+test must sum to 1, got {total}")
    rng = np.random.default_rng(seed)
    patient_label = index.groupby("patient_hash")["label"].max().sort_index()
    stratum = patient_label.copy()
    truth = (index["label"].eq(1) & scorable(index)).groupby(index["patient_hash"]).any()
    stratum[(patient_label == 1) & ~truth.reindex(stratum.index)] = 2  # no ground truth
    train_val = fractions["train"] / (fractions["train"] + fractions["val"])
    assignment: dict[str, str] = {}
    for label in (0, 1, 2):
        patients = stratum.index[stratum == label].to_numpy()
        if label == 2 and not len(patients):
            break  # (no draw: splits without such patients stay as they were)
        patients = patients[rng.permutation(len(patients))]
        shares = [fractions[s] for s in SPLITS] if label < 2 else [train_val, 1 - train_val, 0.0]
        counts = _largest_remainder(shares, len(patients))
        start = 0
        for split, count in zip(SPLITS, counts, strict=True):
            for p in patients[start : start + count]:
                assignment[p] = split
            start += count
    out = pd.DataFrame(
        {"image_id": index["image_id"], "split": index["patient_hash"].map(assignment)}
    )
    return out


def _largest_remainder(fractions: list[float], n: int) -> list[int]:
    raw = np.asarray(fractions) * n
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts.tolist()


def write_split_csv(split: pd.DataFrame, path) -> None:
    """Write ``,Image_ID,Split`` (the paper's format) atomically."""
    from . import io

    frame = pd.DataFrame(
        {"Image_ID": split["image_id"].to_numpy(), "Split": split["split"].to_numpy()}
    )
    io.write_csv(path, frame, index=True)


def read_split_csv(path, index: pd.DataFrame) -> pd.DataFrame:
    """Read a split CSV in the paper's format and align it to ``index``.

    Unknown image ids and unknown split names raise :class:`InputError` naming the row;
    converted images missing from the CSV are excluded (``split`` = ``excluded``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: split CSV not found")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot parse as a split CSV ({exc})") from None
    cols = {c.strip(): c for c in frame.columns}
    if "Image_ID" not in cols or "Split" not in cols:
        raise InputError(f"{path}: expected columns ',Image_ID,Split', found {list(frame.columns)}")
    known = set(index["image_id"])
    mapping: dict[str, str] = {}
    for i, (image_id, split) in enumerate(
        zip(frame[cols["Image_ID"]], frame[cols["Split"]], strict=True)
    ):
        line = i + 2
        image_id = image_id.strip()
        name = _ALIASES.get(split.strip().lower())
        if name is None:
            raise InputError(
                f"{path}, row {line}: unknown split {split!r}; expected train/val/test"
            )
        if image_id not in known:
            raise InputError(
                f"{path}, row {line}: image {image_id!r} is not in the converted dataset"
            )
        if image_id in mapping and mapping[image_id] != name:
            raise InputError(f"{path}, row {line}: image {image_id!r} is listed in two splits")
        mapping[image_id] = name
    out = pd.DataFrame({"image_id": index["image_id"], "split": index["image_id"].map(mapping)})
    missing = out["split"].isna()
    if missing.any():
        log.warning("%d converted images are not in %s; excluded", int(missing.sum()), path)
        out.loc[missing, "split"] = "excluded"
    return out


def load_split(path) -> pd.DataFrame:
    """Read a split CSV written by :func:`write_split_csv` back as ``image_id, split``."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return pd.DataFrame({"image_id": frame["Image_ID"], "split": frame["Split"]})


def check_split(index: pd.DataFrame, split: pd.DataFrame, name: str = "dataset") -> None:
    """Each of train/val/test must hold both classes, or training and metrics are meaningless."""
    labels = index.set_index("image_id")["label"]
    for s in SPLITS:
        ids = split.loc[split["split"] == s, "image_id"]
        got = labels.loc[ids]
        if got.sum() == 0 or got.sum() == len(got):
            raise InputError(
                f"dataset {name!r}: the {s} split has {int(got.sum())} positive and "
                f"{int(len(got) - got.sum())} negative images; each split needs both "
                "(more images, or another split)"
            )


def positive_test_rows(
    index: pd.DataFrame, split: pd.DataFrame, sample: pd.DataFrame
) -> pd.DataFrame:
    """All positive test images (``index, image_id, sampled``) in stack order: the rows of the
    saliency maps (utility uses all of them, the other tests the sampled ones)."""
    pool = _test_positives(index, split)
    out = pool[["index", "image_id"]].sort_values("index").reset_index(drop=True)
    out["sampled"] = out["image_id"].isin(set(sample["image_id"]))
    return out


def _test_positives(index: pd.DataFrame, split: pd.DataFrame) -> pd.DataFrame:
    """The positive test images with ground truth (a given split CSV may put positives
    without any in test: they are left out of every map stack, and counted in the log)."""
    merged = index.merge(split, on="image_id", validate="one_to_one")
    pool = merged[(merged["split"] == "test") & (merged["label"] == 1)]
    truth = scorable(pool)
    if not truth.all():
        log.warning(
            "%d positive test images have no ground truth; no map is made or scored for them",
            int((~truth).sum()),
        )
    return pool[truth]


def sample_positives(
    index: pd.DataFrame, split: pd.DataFrame, n: int, seed: int, name: str = "dataset"
) -> pd.DataFrame:
    """Pick ``n`` positive test images (seeded); returned sorted by stack index."""
    pool = _test_positives(index, split)
    if len(pool) < n:
        raise InputError(
            f"dataset {name!r}: config key sample.n asks for {n} positive test images but "
            f"the test split has only {len(pool)}"
        )
    rng = np.random.default_rng(seed)
    chosen = pool.iloc[np.sort(rng.choice(len(pool), size=n, replace=False))]
    return chosen[["index", "image_id"]].sort_values("index").reset_index(drop=True)


def read_positives(path, *, sampled_only: bool = False) -> pd.DataFrame:
    """Rows of a ``positives.csv`` (``index, image_id, sampled``) in file order."""
    rows = pd.read_csv(path, dtype={"image_id": str})
    missing = {"index", "image_id", "sampled"} - set(rows.columns)
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    if sampled_only:
        rows = rows[rows["sampled"].astype(bool)]
    return rows.reset_index(drop=True)
