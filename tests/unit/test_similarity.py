"""Data similarity by hand: word n-gram overlap of tiny sets counted on paper, principal angles of
subspaces at known angles, and a reference on orthonormal bases from numpy.linalg.qr."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.jobs.params.geometry import DataSimilarityParams
from backend.ngram_overlap import ngram_overlap, ngram_set, words
from worker.science.similarity import layer_overlaps, principal_cosines, principal_subspace


def test_words_lowercase_and_drop_punctuation():
    assert words("I can't, can I? Kill_time!") == ["i", "can't", "can", "i", "kill", "time"]


def test_ngram_overlap_counted_on_paper():
    a = ["The cat sat.", "the dog"]  # 1: the cat sat dog; 2: the-cat cat-sat the-dog
    b = ["The cat ran"]  # 1: the cat ran; 2: the-cat cat-ran; 3: the-cat-ran
    # unigrams: A & B = {the, cat}; A | B = {the, cat, sat, dog, ran}: 2/5
    # bigrams: A & B = {the cat}; A | B = {the cat, cat sat, the dog, cat ran}: 1/4
    # trigrams: A = {the cat sat}, B = {the cat ran}: 0/2; a trigram never spans two prompts
    assert ngram_set(a, 2) == {("the", "cat"), ("cat", "sat"), ("the", "dog")}
    assert ngram_overlap(a, b) == {"1": 2 / 5, "2": 1 / 4, "3": 0.0}
    assert ngram_overlap(a, a) == {"1": 1.0, "2": 1.0, "3": 1.0}
    assert ngram_overlap(["hi"], ["yo"], ns=(2,)) == {"2": None}  # no bigram on either side


def _plane(angle: float) -> np.ndarray:
    """Orthonormal basis of span{e1, cos(a) e2 + sin(a) e3} in R^3."""
    return np.array([[1.0, 0.0], [0.0, math.cos(angle)], [0.0, math.sin(angle)]])


def test_two_planes_in_r3_at_a_known_angle():
    # the planes share e1 (angle 0) and their second directions meet at 60 degrees:
    # cosines 1 and 0.5, mean cos^2 = (1 + 0.25) / 2 = 0.625
    cosines = principal_cosines(_plane(0.0), _plane(math.pi / 3))
    assert cosines == pytest.approx([1.0, 0.5])
    assert principal_cosines(_plane(0.0), _plane(math.pi / 2)) == pytest.approx([1.0, 0.0])


def test_principal_subspace_of_points_spread_along_known_axes():
    # four points on the x axis and the y axis, x spread 10x y's: top-1 axis e1, top-2 {e1, e2}
    X = np.array([[10.0, 0, 0], [-10, 0, 0], [0, 1, 0], [0, -1, 0]])
    assert np.abs(principal_subspace(X, 1)[:, 0]) == pytest.approx([1.0, 0.0, 0.0])
    U = principal_subspace(X, 2)
    assert U.T @ U == pytest.approx(np.eye(2))
    assert principal_cosines(U, np.eye(3)[:, :2]) == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match="k: need"):
        principal_subspace(X, 4)


def test_overlap_against_a_reference_on_qr_bases():
    # mean cos^2 = ||U^T V||_F^2 / k for orthonormal U, V, whatever the basis of each span
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.normal(size=(12, 4)))
    V, _ = np.linalg.qr(rng.normal(size=(12, 4)))
    reference = np.linalg.norm(U.T @ V) ** 2 / 4
    assert np.mean(principal_cosines(U, V) ** 2) == pytest.approx(reference)
    R, _ = np.linalg.qr(rng.normal(size=(4, 4)))  # another basis of the same span
    assert principal_cosines(U, U @ R) == pytest.approx(np.ones(4))


def test_layer_overlaps_same_and_disjoint_subspaces():
    # layer 0: both sets vary in span{e1, e2}; layer 1: A in span{e1, e2}, B in span{e3, e4}
    rng = np.random.default_rng(1)
    d = 6
    XA = np.zeros((40, 2, d))
    XB = np.zeros((30, 2, d))
    XA[:, :, :2] = rng.normal(size=(40, 2, 2))
    XB[:, 0, :2] = rng.normal(size=(30, 2))
    XB[:, 1, 2:4] = rng.normal(size=(30, 2))
    same, disjoint = layer_overlaps(XA, XB, k=2)
    assert (same.layer, disjoint.layer) == (0, 1)
    assert same.overlap == pytest.approx(1.0) and disjoint.overlap == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="layers x d"):
        layer_overlaps(XA, XB[:, :1], k=2)


def test_params_name_the_field():
    with pytest.raises(ValueError, match="other_run_id"):
        DataSimilarityParams(dataset_id=1, other_dataset_id=2, run_id=3)
    with pytest.raises(ValueError, match="model_id"):
        DataSimilarityParams(dataset_id=1, other_dataset_id=2, run_id=3, other_run_id=4, model_id=1)
