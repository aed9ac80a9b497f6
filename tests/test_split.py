import numpy as np
import pandas as pd
import pytest

from saliency_audit import split as splits
from saliency_audit.errors import InputError


def make_index(n_patients=200, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        label = int(rng.random() < 0.3)
        for _ in range(1 + int(rng.random() < 0.2)):
            rows.append(
                {"image_id": f"img{len(rows):04d}", "patient_hash": f"p{p:04d}", "label": label}
            )
    index = pd.DataFrame(rows)
    index.insert(0, "index", range(len(index)))
    return index


FRACTIONS = {"train": 0.81, "val": 0.09, "test": 0.10}


def test_patient_level_stratified_and_seeded():
    index = make_index()
    a = splits.make_split(index, FRACTIONS, seed=1)
    b = splits.make_split(index, FRACTIONS, seed=1)
    c = splits.make_split(index, FRACTIONS, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a["split"].equals(c["split"])
    merged = index.merge(a, on="image_id")
    assert merged.groupby("patient_hash")["split"].nunique().max() == 1
    for s in splits.SPLITS:
        part = merged[merged["split"] == s]
        pat = part.groupby("patient_hash")["label"].max()
        share = len(pat) / index["patient_hash"].nunique()
        assert share == pytest.approx(FRACTIONS[s], abs=0.02)
        assert pat.mean() == pytest.approx(
            index.groupby("patient_hash")["label"].max().mean(), abs=0.05
        )


def test_fractions_must_sum_to_one():
    with pytest.raises(InputError, match="split.fractions"):
        splits.make_split(make_index(), {"train": 0.8, "val": 0.1, "test": 0.2}, 0)


def test_split_csv_round_trip_in_paper_format(tmp_path):
    index = make_index(30)
    table = splits.make_split(index, FRACTIONS, 0)
    path = tmp_path / "split.csv"
    splits.write_split_csv(table, path)
    assert path.read_text().splitlines()[0] == ",Image_ID,Split"
    again = splits.read_split_csv(path, index)
    pd.testing.assert_frame_equal(again, table)
    pd.testing.assert_frame_equal(splits.load_split(path), table)


def test_given_split_aliases_and_bad_rows(tmp_path):
    index = make_index(5)
    path = tmp_path / "given.csv"
    path.write_text(",Image_ID,Split\n0,img0000,Training\n1,img0001,valid\n2,img0002,TEST\n")
    table = splits.read_split_csv(path, index)
    assert table.set_index("image_id").loc[["img0000", "img0001", "img0002"], "split"].tolist() == [
        "train",
        "val",
        "test",
    ]
    assert (table["split"] == "excluded").sum() == len(index) - 3
    path.write_text(",Image_ID,Split\n0,img0000,train\n1,nosuch,test\n")
    with pytest.raises(InputError, match=r"row 3: image 'nosuch' is not in the converted"):
        splits.read_split_csv(path, index)
    path.write_text(",Image_ID,Split\n0,img0000,tune\n")
    with pytest.raises(InputError, match="row 2: unknown split 'tune'"):
        splits.read_split_csv(path, index)


def test_check_split_needs_both_classes():
    index = make_index(50)
    table = splits.make_split(index, FRACTIONS, 0)
    splits.check_split(index, table)
    negatives = index.loc[index["label"] == 0, "image_id"]
    table.loc[~table["image_id"].isin(negatives) & (table["split"] == "test"), "split"] = "train"
    with pytest.raises(InputError, match="the test split has 0 positive"):
        splits.check_split(index, table, "demo")


def test_sample_positives_seeded_and_too_few():
    index = make_index(300)
    table = splits.make_split(index, FRACTIONS, 0)
    a = splits.sample_positives(index, table, 5, seed=3)
    assert a.equals(splits.sample_positives(index, table, 5, seed=3))
    chosen = index.set_index("image_id").loc[a["image_id"]]
    assert (chosen["label"] == 1).all()
    assert set(table.set_index("image_id").loc[a["image_id"], "split"]) == {"test"}
    assert list(a["index"]) == sorted(a["index"])
    with pytest.raises(InputError, match="sample.n asks for 999"):
        splits.sample_positives(index, table, 999, seed=3, name="demo")


def test_positives_without_ground_truth_stay_out_of_test():
    """unannotated: train: positive patients without any ground truth go to train and val
    in the train:val ratio (exact counts), never to test; the other strata split as before,
    so an index whose positives all have ground truth splits exactly as without the column."""
    index = make_index(n_patients=400)
    index["annotated"] = 1
    plain = splits.make_split(index.drop(columns="annotated"), FRACTIONS, seed=3)
    pd.testing.assert_frame_equal(splits.make_split(index, FRACTIONS, seed=3), plain)
    positive = index.groupby("patient_hash")["label"].max()
    unboxed = positive.index[positive == 1][::2]  # half the positive patients: no box at all
    index.loc[index["patient_hash"].isin(unboxed) & (index["label"] == 1), "annotated"] = 0
    table = splits.make_split(index, FRACTIONS, seed=3)
    merged = index.merge(table, on="image_id")
    per_patient = merged.groupby("patient_hash").agg(split=("split", "first"))
    got = per_patient.loc[unboxed, "split"].value_counts().to_dict()
    n_train = int(np.floor(len(unboxed) * 0.81 / 0.90 + 0.5))  # largest remainder
    assert got == {"train": n_train, "val": len(unboxed) - n_train}
    test = merged[merged["split"] == "test"]
    assert test["label"].sum() > 0 and test.loc[test["label"] == 1, "annotated"].all()
    # the sample and the map rows only take positives with ground truth
    chosen = splits.sample_positives(index, table, 5, seed=0)
    rows = splits.positive_test_rows(index, table, chosen)
    assert set(rows["image_id"]) == set(test.loc[test["label"] == 1, "image_id"])
