"""Guo et al. 2022 generation metrics on embeddings whose answer is worked out by hand."""
import numpy as np
import pytest

from engine.metrics.generation import (
    diversity, fid, frechet_distance, mean_and_interval, mm_dist, multimodality, r_precision,
)


def _spread(n):
    """n <= 64 points of an 8 x 8 grid of step 10: any two are at least 10 apart."""
    return np.stack(np.meshgrid(np.arange(8), np.arange(8)), -1).reshape(-1, 2)[:n] * 10.0


# ---- R-precision ----------------------------------------------------------------------------------

def test_r_precision_perfect_embeddings():
    text = np.random.default_rng(0).normal(size=(96, 8))
    assert r_precision(text, text.copy(), rng=np.random.default_rng(1)) == {"top1": 1.0, "top2": 1.0, "top3": 1.0}


def test_r_precision_known_permutation():
    # One batch of 32 (so shuffling cannot change its content). Pairs on the x axis:
    # 20 texts alone at x = 100 k, each with its own motion on top of it  -> rank 1.
    # 4 swapped pairs: texts at 100 k and 100 k + 1, each motion placed on the *other* text.
    #   text at 100k: the partner's motion at distance 0, its own at 1, everything else >= 99 -> rank 2.
    # 1 three-cycle of texts a, b, c at 100 k + (0, 1, 3); motion_a at x(c), motion_b at x(a), motion_c at x(b):
    #   text a (0): motion_b 0, motion_c 1, motion_a 3 -> rank 3
    #   text b (1): motion_c 0, motion_b 1, motion_a 2 -> rank 2
    #   text c (3): motion_a 0, motion_c 2, motion_b 3 -> rank 2
    # 1 text whose motion is 1e4 above it, while every other motion is within 3200 of it -> rank 32.
    text, motion = [], []
    base = 0.0
    for _ in range(20):
        text.append([base, 0]); motion.append([base, 0]); base += 100
    for _ in range(4):
        text += [[base, 0], [base + 1, 0]]; motion += [[base + 1, 0], [base, 0]]; base += 100
    text += [[base, 0], [base + 1, 0], [base + 3, 0]]
    motion += [[base + 3, 0], [base, 0], [base + 1, 0]]
    base += 100
    text.append([base, 0]); motion.append([base, 1e4])
    text, motion = np.array(text), np.array(motion)
    assert len(text) == 32
    # top1: the 20 singles; top2: + 8 swapped + b + c; top3: + a
    expected = {"top1": 20 / 32, "top2": 30 / 32, "top3": 31 / 32}
    for seed in range(3):
        got = r_precision(text, motion, rng=np.random.default_rng(seed))
        assert got == pytest.approx(expected, abs=1e-12)


def test_r_precision_drops_the_incomplete_last_batch():
    # 48 pairs -> one batch of 32; 16 pairs are left out (Guo et al.: drop_last). All pairs perfect
    # but one, whose motion is far from every text: its batch scores 31/32, a batch without it 1.
    text = _spread(48)
    motion = text.copy()
    motion[0] += [0.0, 1e4]
    values = {r_precision(text, motion, rng=np.random.default_rng(s))["top1"] for s in range(30)}
    # pooling all 48 would give 47/48; keeping the partial batch of 16 would give other fractions
    assert values == {1.0, 31 / 32}
    with pytest.raises(ValueError):
        r_precision(text[:31], motion[:31])


def test_r_precision_deterministic_under_seed():
    rng = np.random.default_rng(5)
    text = rng.normal(size=(200, 4))
    motion = text + rng.normal(scale=1.0, size=text.shape)
    a = r_precision(text, motion, rng=np.random.default_rng(7))
    assert a == r_precision(text, motion, rng=np.random.default_rng(7))
    others = [r_precision(text, motion, rng=np.random.default_rng(s)) for s in range(8, 14)]
    assert any(o != a for o in others)  # the shuffle matters (200 -> 6 batches of 32, 8 dropped)
    assert 0.0 < a["top1"] <= a["top2"] <= a["top3"] <= 1.0


# ---- MM-Dist, FID ---------------------------------------------------------------------------------

def test_mm_dist_is_mean_pair_distance():
    text = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, -1.0]])
    motion = np.array([[3.0, 4.0], [1.0, 3.0], [2.0, -1.0]])   # distances 5, 2, 0
    assert mm_dist(text, motion) == pytest.approx(7.0 / 3.0)


def _with_exact_stats(mean, cov, n=400, seed=0):
    """n samples whose sample mean and (N - 1) covariance are exactly `mean` and `cov`."""
    x = np.random.default_rng(seed).normal(size=(n, len(mean)))
    x -= x.mean(axis=0)
    x = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T      # cov = I exactly
    return np.asarray(mean) + x @ np.linalg.cholesky(cov).T


def test_fid_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(3).normal(size=(500, 16))
    assert fid(x, x) == pytest.approx(0.0, abs=1e-6)
    few = np.random.default_rng(4).normal(size=(10, 16))   # N < D: singular covariance
    assert fid(few, few) == pytest.approx(0.0, abs=1e-3)


def test_fid_closed_form_diagonal():
    # diagonal covariances: tr(S1 + S2 - 2 sqrt(S1 S2)) = sum (sqrt(a_i) - sqrt(b_i))^2
    mu1, mu2 = np.array([0.0, 0.0, 0.0]), np.array([1.0, 2.0, 2.0])        # |mu1 - mu2|^2 = 9
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])            # (1-2)^2 + 0 + (3-1)^2 = 5
    real, gen = _with_exact_stats(mu1, np.diag(a)), _with_exact_stats(mu2, np.diag(b), seed=1)
    assert fid(real, gen) == pytest.approx(14.0, rel=1e-8)
    assert fid(gen, real) == pytest.approx(14.0, rel=1e-8)


def test_fid_closed_form_rotated_covariance():
    # S1 = I, S2 = R diag(4, 1/4) R^T: sqrt(S1 S2) has eigenvalues 2 and 1/2,
    # so FID = 0 + (2) + (4 + 1/4) - 2 (2 + 1/2) = 1.25
    th = 0.7
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    s2 = rot @ np.diag([4.0, 0.25]) @ rot.T
    assert frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), s2) == pytest.approx(1.25, rel=1e-10)
    real, gen = _with_exact_stats([5.0, -1.0], np.eye(2)), _with_exact_stats([5.0, -1.0], s2, seed=2)
    assert fid(real, gen) == pytest.approx(1.25, rel=1e-8)


def test_fid_singular_covariances_stay_finite():
    # all samples equal: S1 = S2 = 0; only the means differ by (3, 4) -> 25
    real, gen = np.zeros((5, 3)), np.tile([3.0, 4.0, 0.0], (5, 1))
    assert fid(real, gen) == pytest.approx(25.0, abs=1e-6)
    # S1 = 2 u u^T (u = (1, -1, -1)), S2 = B B^T: S1 S2 = 2 u (S2 u)^T has rank 1 and its one nonzero
    # eigenvalue is 2 |B^T u|^2 = 18, so tr sqrt(S1 S2) = sqrt(18); tr S1 = 6, tr S2 = |B|_F^2 = 17.
    # scipy's sqrtm returns NaN on this singular product: the eps * I retry must give the closed form
    # up to an O(sqrt(eps)) bias.
    a = np.array([[1.0, -1.0], [-1.0, 1.0], [-1.0, 1.0]])
    b = np.array([[2.0, 2.0], [2.0, -2.0], [0.0, 1.0]])
    got = frechet_distance(np.zeros(3), a @ a.T, np.zeros(3), b @ b.T)
    assert got == pytest.approx(6.0 + 17.0 - 2.0 * np.sqrt(18.0), abs=0.01)


def test_fid_retries_with_eps_and_rejects_large_imaginary_parts(monkeypatch):
    from engine.metrics import generation

    real_sqrtm, seen = generation.linalg.sqrtm, []

    def failing_once(m):
        seen.append(m.copy())
        return np.full_like(m, np.nan) if len(seen) == 1 else real_sqrtm(m)

    monkeypatch.setattr(generation.linalg, "sqrtm", failing_once)
    s = np.diag([1.0, 4.0])
    assert frechet_distance(np.zeros(2), s, np.zeros(2), s, eps=0.5) == pytest.approx(
        2 * 5.0 - 2 * (1.5 + 4.5))                       # sqrt of (S + eps I)^2 = S + eps I
    assert len(seen) == 2 and np.allclose(seen[1], (s + 0.5 * np.eye(2)) @ (s + 0.5 * np.eye(2)))
    monkeypatch.setattr(generation.linalg, "sqrtm", lambda m: np.eye(2) * (1 + 1j))
    with pytest.raises(ValueError, match="imaginary"):
        frechet_distance(np.zeros(2), s, np.zeros(2), s)


# ---- Diversity, MultiModality ---------------------------------------------------------------------

def test_diversity_on_equidistant_points():
    # 600 one-hot rows scaled so any two distinct rows are exactly 5 apart; a pair that happens to
    # draw the same row twice counts 0 (as in Guo et al.), so the value is 5 * (300 - repeats) / 300.
    emb = np.eye(600) * 5.0 / np.sqrt(2.0)
    values = np.array([diversity(emb, rng=np.random.default_rng(s)) for s in range(20)])
    assert np.allclose(values * 300 / 5, np.round(values * 300 / 5))   # a whole number of distinct pairs
    assert values.max() <= 5.0 + 1e-12 and values.min() >= 5.0 * 290 / 300
    # expected repeats per draw: 300 / 600 -> mean 5 * (1 - 1/600)
    assert values.mean() == pytest.approx(5.0 * (1 - 1 / 600), abs=0.01)
    assert diversity(np.ones((50, 3))) == 0.0   # identical samples: no diversity


def test_diversity_fewer_samples_than_pairs_uses_them_all():
    # 2 samples 5 apart, 300 pairs asked: 2 pairs are used, each draw a permutation of (0, 1)
    emb = np.array([[0.0, 0.0], [3.0, 4.0]])
    values = {diversity(emb, rng=np.random.default_rng(s)) for s in range(20)}
    assert values == {0.0, 5.0}   # same permutation twice -> 0, opposite -> 5 for both pairs
    # 3 samples 1 apart (equilateral): all 3 are used, the two draws differ by a permutation with
    # 0, 1 or 3 fixed points, so the mean is 1, 2/3 or 0 (with only 2 pairs it would be 1, 1/2 or 0)
    tri = np.eye(3) / np.sqrt(2.0)
    values = {round(diversity(tri, rng=np.random.default_rng(s)), 12) for s in range(40)}
    assert values <= {0.0, round(2 / 3, 12), 1.0} and round(2 / 3, 12) in values


def test_multimodality_within_prompt_distances():
    # prompt p: 1000 samples on a one-hot simplex scaled by (p + 1) so distinct samples are
    # (p + 1) * 2 apart; the same 10 index pairs serve every prompt (Guo et al.), so
    # MM = mean_p 2 (p + 1) * (distinct pairs / 10) = 2 * 2.5 * distinct / 10 for p = 0..3
    base = np.eye(1000) * 2.0 / np.sqrt(2.0)
    groups = np.stack([base * (p + 1) for p in range(4)])
    for s in range(5):
        v = multimodality(groups, rng=np.random.default_rng(s))
        distinct = v / 5.0 * 10
        assert distinct == pytest.approx(round(distinct)) and 8 <= round(distinct) <= 10
    same = np.repeat(np.random.default_rng(0).normal(size=(3, 1, 4)), 30, axis=1)   # mode collapse
    assert multimodality(same) == 0.0


def test_random_metrics_deterministic_under_seed():
    emb = np.random.default_rng(0).normal(size=(400, 8))
    groups = np.random.default_rng(1).normal(size=(20, 30, 8))
    assert diversity(emb, rng=np.random.default_rng(3)) == diversity(emb, rng=np.random.default_rng(3))
    assert diversity(emb, rng=np.random.default_rng(3)) != diversity(emb, rng=np.random.default_rng(4))
    mm = multimodality(groups, rng=np.random.default_rng(3))
    assert mm == multimodality(groups, rng=np.random.default_rng(3))
    # Gaussian N(0, I_8): E||x - y|| = 2 Gamma(9/2) / Gamma(4) = 3.87
    assert diversity(emb, rng=np.random.default_rng(3)) == pytest.approx(3.87, abs=0.25)


# ---- mean +- interval -----------------------------------------------------------------------------

def test_mean_and_interval():
    # values 1..4: mean 2.5, population std sqrt(1.25), half-width 1.96 sqrt(1.25) / 2
    mean, half = mean_and_interval([1.0, 2.0, 3.0, 4.0])
    assert mean == pytest.approx(2.5)
    assert half == pytest.approx(1.96 * np.sqrt(1.25) / 2.0)
    assert mean_and_interval([7.0, 7.0]) == (7.0, 0.0)
    with pytest.raises(ValueError):
        mean_and_interval([1.0])
