"""Seeds derived from the config: stable, separate per stage, noise per model by default."""

import pytest

from saliency_audit.seeds import derive_seed, noise_seed


def test_derive_seed_is_stable_and_separates_names():
    assert derive_seed(2021, "split", "pneumonia") == derive_seed(2021, "split", "pneumonia")
    assert derive_seed(2021, "split", "pneumonia") != derive_seed(2021, "sample", "pneumonia")
    assert 0 <= derive_seed(7, "x") < 2**31


def test_noise_is_independent_per_model_and_step_unless_common():
    """Shared noise makes two models' SmoothGrad maps alike: the default draws per (dataset,
    model, step, method); 'common' shares one stream per (dataset, method)."""
    a = noise_seed(2021, "pneumonia", "inceptionv3_r1", "SG")
    b = noise_seed(2021, "pneumonia", "inceptionv3_r2", "SG")
    c = noise_seed(2021, "pneumonia", "inceptionv3_r1", "SG", step="cascade_stem")
    d = noise_seed(2021, "pneumonia", "inceptionv3_r1", "SIG")
    assert len({a, b, c, d}) == 4
    common = {
        noise_seed(2021, "pneumonia", m, "SG", step=s, mode="common")
        for m in ("inceptionv3_r1", "inceptionv3_r2")
        for s in ("trained", "cascade_stem")
    }
    assert common == {derive_seed(2021, "saliency", "pneumonia", "SG")}
    with pytest.raises(ValueError, match="noise mode"):
        noise_seed(2021, "pneumonia", "m", "SG", mode="shared")
