"""Per-prompt scores (worker/science/projection.py) on a hand-worked example and against numpy's
SVD of the centred layer."""

from __future__ import annotations

import numpy as np
import pytest

from worker.science.projection import projection_tensors
from worker.science.spectra import compute_spectra

# four prompts at the corners of a 2 x 4 rectangle centred on (2, 3): the long side is y
CORNERS = np.array([[1.0, 1.0], [3.0, 1.0], [1.0, 5.0], [3.0, 5.0]])


def test_scores_on_a_hand_worked_rectangle():
    X = CORNERS[:, None, :]  # (4 prompts, 1 layer, d = 2)
    labels = np.array([0, 0, 1, 1])  # the two top corners are unsafe
    spectra = compute_spectra(X, n_bootstrap=0, labels=labels)
    out = projection_tensors(X, spectra.directions, idx=np.array([7, 8, 9, 10]), labels=labels)
    pcs, refusal = out["pcs"][:, 0, :], out["refusal"][:, 0]
    assert pcs.shape == (4, 2)  # d = 2 directions, fewer than the 5 asked for
    # PC1 is the y axis (variance 16/3 > 4/3): centred y is -2, -2, 2, 2; PC2 the x axis
    np.testing.assert_allclose(np.abs(pcs[:, 0]), [2, 2, 2, 2], atol=1e-6)
    assert pcs[0, 0] == pytest.approx(pcs[1, 0]) and pcs[0, 0] == pytest.approx(-pcs[2, 0])
    np.testing.assert_allclose(np.abs(pcs[:, 1]), [1, 1, 1, 1], atol=1e-6)
    assert pcs[0, 1] == pytest.approx(-pcs[1, 1])
    # mean(unsafe) - mean(safe) = (0, 4): unit (0, 1), scores are centred y, sign included
    np.testing.assert_allclose(refusal, [-2, -2, 2, 2], atol=1e-6)
    assert out["idx"].tolist() == [7, 8, 9, 10]


def test_scores_match_numpy_svd_per_layer_and_no_labels_give_nan():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3, 6)) * np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.2]) + 4.0
    spectra = compute_spectra(X, n_bootstrap=0)
    out = projection_tensors(X, spectra.directions, idx=np.arange(40), n_components=3)
    assert out["pcs"].shape == (40, 3, 3) and out["pcs"].dtype == np.float32
    for layer in range(3):
        Xc = X[:, layer] - X[:, layer].mean(axis=0)
        _, _, vt = np.linalg.svd(Xc, full_matrices=False)
        expected = Xc @ vt[:3].T
        got = out["pcs"][:, layer]
        signs = np.sign((got * expected).sum(axis=0))  # a direction's sign is arbitrary
        np.testing.assert_allclose(got * signs, expected, rtol=1e-4, atol=1e-4)
    assert np.isnan(out["refusal"]).all()


def test_bad_shapes_name_the_field():
    X = CORNERS[:, None, :]
    with pytest.raises(ValueError, match="directions"):
        projection_tensors(X, [], idx=np.arange(4))
    with pytest.raises(ValueError, match="idx"):
        projection_tensors(X, [np.eye(2)], idx=np.arange(3))
