import numpy as np
import pytest

from saliency_audit import imageops


def test_area_weights_rows_sum_to_one_and_preserve_mean():
    for n_in, n_out in [(1024, 320), (7, 3), (3, 7), (10, 10)]:
        w = imageops.area_weights(n_in, n_out)
        assert w.shape == (n_out, n_in)
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-6)
    rng = np.random.default_rng(0)
    img = rng.random((100, 60)).astype(np.float32)
    out = imageops.resize_area(img, (32, 20))
    assert out.mean() == pytest.approx(img.mean(), abs=1e-5)


def test_integer_factor_is_block_mean():
    img = np.arange(16, dtype=np.float32).reshape(4, 4)
    out = imageops.resize_area(img, (2, 2))
    np.testing.assert_allclose(out, [[2.5, 4.5], [10.5, 12.5]])


def test_non_square_input_to_square():
    img = np.ones((30, 50), np.float32)
    assert imageops.resize_area(img, (16, 16)).shape == (16, 16)


def test_mask_resize_half_area_rule_and_tiny_lesion_kept():
    mask = np.zeros((8, 8), np.uint8)
    mask[:4, :4] = 1
    np.testing.assert_array_equal(imageops.resize_mask(mask, (2, 2)), [[1, 0], [0, 0]])
    tiny = np.zeros((100, 100), np.uint8)
    tiny[50, 50] = 1
    assert imageops.resize_mask(tiny, (10, 10)).sum() == 1


def test_to_uint8_rounds_and_clips():
    np.testing.assert_array_equal(
        imageops.to_uint8(np.array([-0.1, 0.0, 0.5, 1.0, 1.2])), [0, 0, 128, 255, 255]
    )


def test_scale_box_inclusive_bounds():
    # a 1024 box from x=264 width 100 -> at 320: 82.5 .. 113.75 -> pixels 82..113
    assert imageops.scale_box(264.0, 0.0, 100.0, 1024.0, (1024, 1024), 320) == (82, 0, 113, 319)
    # a box that exactly covers pixels 2..3 at scale 1 stays 2..3
    assert imageops.scale_box(2, 2, 2, 2, (10, 10), 10) == (2, 2, 3, 3)
    # non-square original: x scaled by cols, y by rows
    assert imageops.scale_box(50, 10, 50, 10, (20, 100), 10) == (5, 5, 9, 9)
