import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from saliency_audit import rle
from saliency_audit.errors import AnnotationError


def test_known_encoding_is_column_major_and_relative():
    mask = np.zeros((6, 5), np.uint8)
    mask[1:3, 1] = 1  # column 1, rows 1-2 -> flat 7, 8
    mask[4, 3] = 1  # flat 3*6+4 = 22
    mask[0, 4] = 1  # flat 24, right after the previous run
    assert rle.encode(mask) == "7 2 13 1 1 1"
    assert rle.encode(mask, mode="absolute") == "7 2 22 1 24 1"


def test_decode_known_answer_and_or_of_regions():
    out = rle.decode("7 2 13 1", (6, 5))
    assert out[1, 1] == out[2, 1] == out[4, 3] == 1
    assert out.sum() == 3
    rle.decode(" 24 1", (6, 5), out=out)  # a second region of the same image, leading space
    assert out[0, 4] == 1 and out.sum() == 4


def test_minus_one_is_empty_mask():
    assert rle.is_empty(" -1") and rle.is_empty("-1")
    assert rle.decode(" -1", (4, 4)).sum() == 0
    assert rle.encode(np.zeros((4, 4))) == "-1"


@pytest.mark.parametrize(
    "text, message",
    [
        ("1 2 3", "odd number of tokens"),
        ("1 x", "not an integer"),
        ("0 0", "run length <= 0"),
        ("10 30", "past the end"),
        ("", "empty"),
    ],
)
def test_malformed_rle_names_file_and_row(text, message):
    with pytest.raises(AnnotationError, match=message) as info:
        rle.decode(text, (5, 5), source="train-rle.csv", row=17)
    assert "train-rle.csv, row 17" in str(info.value)


def test_relative_data_read_as_absolute_is_refused_with_the_row_and_the_fix():
    """Relative (stage-1) RLE decodes under rle_mode absolute without error into a wrong mask
    whenever a gap is shorter than the previous start; its starts then do not increase."""
    mask = np.zeros((6, 5), np.uint8)
    mask[1:3, 1] = mask[4, 3] = mask[0, 4] = 1
    relative = rle.encode(mask)  # "7 2 13 1 1 1": gaps 13 and 1 after start 7
    with pytest.raises(AnnotationError, match="do not increase") as info:
        rle.decode(relative, (6, 5), mode="absolute", source="train-rle.csv", row=9)
    text = str(info.value)
    assert "train-rle.csv, row 9" in text and "rle_mode: relative" in text
    assert "start 1 after 13" in text
    assert (rle.decode(relative, (6, 5)) == mask).all()  # read as relative: the mask


def test_absolute_runs_past_the_end():
    with pytest.raises(AnnotationError, match="past the end"):
        rle.decode("20 6", (5, 5), mode="absolute")


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.uint8, st.tuples(st.integers(1, 12), st.integers(1, 12)), elements=st.integers(0, 1)),
    st.sampled_from(rle.MODES),
)
def test_round_trip(mask, mode):
    text = rle.encode(mask, mode)
    assert np.array_equal(rle.decode(text, mask.shape, mode), mask)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789 -x_²", max_size=30), st.sampled_from(rle.MODES))
def test_fuzz_decode_never_crashes_unexpectedly(text, mode):
    try:
        out = rle.decode(text, (7, 9), mode)
    except AnnotationError:
        return
    assert out.shape == (7, 9) and set(np.unique(out)) <= {0, 1}
