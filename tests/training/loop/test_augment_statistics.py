"""The batched sampler of ``training.loop.augment.draw`` draws from the distributions of torchvision's
per-image transforms: compared, on many draws, with torchvision's own samplers
(``RandomResizedCrop.get_params``, ``ColorJitter.get_params``, ``GaussianBlur.get_params``, and
the coins inside ``RandomHorizontalFlip``, ``RandomApply``, ``RandomGrayscale`` and
``RandomSolarize`` applied to marker images).

Each comparison is a two-sample test at significance level SIGNIFICANCE = 1e-3: Kolmogorov–Smirnov for
continuous parameters (jitter factors, σ, crop area and aspect ratio), chi-square homogeneity for
discrete ones (crop sides and positions, the order of the jitter operations, coin outcomes).
Seeds are fixed, so every test gives the same answer on every run. N = 20,000 draws a side: a
coin's two-sample standard error is then √(2·p(1−p)/N) ≤ 0.005, so a rate off by 0.03 lies six
standard errors out, past the critical value (3.3 at SIGNIFICANCE); ``test_the_comparisons_reject_a_
slightly_wrong_sampler`` shows that the same comparisons do fail on such plausible bugs (a wrong
range, rate or order)."""

import itertools

import numpy as np
import pytest
import scipy.stats
import torch
from torchvision import transforms as T

from training.loop import augment

SIGNIFICANCE = 1e-3
N = 20_000
RECIPES = {
    "byol-1": augment.RECIPES["byol"][0],
    "byol-2": augment.RECIPES["byol"][1],
    "simclr": augment.RECIPES["simclr"][0],
}


def ks_p(ours, theirs) -> float:
    return scipy.stats.ks_2samp(np.asarray(ours), np.asarray(theirs)).pvalue


def chi_square_p(ours, theirs, rare: int = 20) -> float:
    """Homogeneity of two samples of a discrete variable; values seen fewer than ``rare`` times
    in both samples together share one cell, so that every expected count is large enough."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    values = np.union1d(ours, theirs)
    counts = np.array([[np.sum(sample == v) for v in values] for sample in (ours, theirs)])
    common = counts.sum(axis=0) >= rare
    table = np.column_stack([counts[:, common], counts[:, ~common].sum(axis=1)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 1.0  # one value in both samples: nothing to tell apart
    return scipy.stats.chi2_contingency(table).pvalue


def ours_of(recipe, height=32, width=32, n=N, seed=0) -> augment.ViewParams:
    return augment.draw(recipe, n, height, width, torch.Generator().manual_seed(seed))


def torchvisions_crops(recipe, height, width, n=N, seed=0) -> np.ndarray:
    torch.manual_seed(seed)
    image = torch.zeros(1, height, width)
    scale, ratio = recipe.crop_scale, recipe.crop_ratio
    return np.array([T.RandomResizedCrop.get_params(image, scale, ratio) for _ in range(n)])


def crop_p_values(ours: augment.ViewParams, theirs: np.ndarray, height, width) -> dict[str, float]:
    # integers on both sides, so that equal boxes give bitwise-equal statistics (ties)
    boxes = (ours.top, ours.left, ours.height, ours.width)
    top, left, h, w = (v.numpy().astype(np.int64) for v in boxes)
    t_top, t_left, t_h, t_w = theirs.astype(np.int64).T
    return {
        "height": chi_square_p(h, t_h),
        "width": chi_square_p(w, t_w),
        "top": chi_square_p(top, t_top),
        "left": chi_square_p(left, t_left),
        "area fraction": ks_p(h * w / (height * width), t_h * t_w / (height * width)),
        "log aspect ratio": ks_p(np.log(w / h), np.log(t_w / t_h)),
    }


@pytest.mark.parametrize("height, width", [(32, 32), (16, 48)])
def test_crop_boxes_follow_random_resized_crop(height, width):
    """32×32 is the paper's source; at 16×48 about a third of the draws do not fit and are
    drawn again, which exercises the first-that-fits rule."""
    recipe = RECIPES["byol-1"]
    ours = ours_of(recipe, height, width)
    bottom, right = ours.top + ours.height, ours.left + ours.width
    assert bool(((ours.top >= 0) & (ours.left >= 0) & (bottom <= height) & (right <= width)).all())
    p = crop_p_values(ours, torchvisions_crops(recipe, height, width), height, width)
    assert min(p.values()) >= SIGNIFICANCE, p


@pytest.mark.parametrize("height, width", [(8, 64), (64, 8)])
def test_crop_fallback_is_torchvisions_central_crop(height, width):
    """No draw fits an image of ratio 8 with scale ≥ 0.5: every box is the fallback, which
    must be exactly torchvision's (the central crop with the ratio clamped)."""
    recipe = augment.ViewRecipe(crop_scale=(0.5, 1.0))
    ours = ours_of(recipe, height, width, n=64)
    theirs = torchvisions_crops(recipe, height, width, n=1)[0]
    drawn = torch.stack((ours.top, ours.left, ours.height, ours.width), dim=1)
    assert torch.equal(drawn, torch.tensor(theirs, dtype=drawn.dtype).expand(64, 4))


@pytest.mark.parametrize("name", list(RECIPES))
def test_jitter_factors_follow_color_jitter(name):
    recipe = RECIPES[name]
    ours = ours_of(recipe, seed=1)
    ranges = {
        "brightness": (1 - recipe.brightness, 1 + recipe.brightness),
        "contrast": (1 - recipe.contrast, 1 + recipe.contrast),
        "saturation": (1 - recipe.saturation, 1 + recipe.saturation),
        "hue": (-recipe.hue, recipe.hue),
    }
    torch.manual_seed(1)
    theirs = [T.ColorJitter.get_params(*ranges.values()) for _ in range(N)]
    for column, (factor, (low, high)) in enumerate(ranges.items(), start=1):
        drawn = getattr(ours, factor)
        assert low <= drawn.min() and drawn.max() <= high, factor
        p = ks_p(drawn, [t[column] for t in theirs])
        assert p >= SIGNIFICANCE, (factor, p)


def test_jitter_order_is_a_uniform_permutation_like_torchvisions():
    ours = ours_of(RECIPES["byol-1"], seed=2).order
    assert torch.equal(ours.sort(dim=1).values, torch.arange(4).expand(N, 4))  # permutations
    torch.manual_seed(2)
    theirs = [tuple(T.ColorJitter.get_params(None, None, None, None)[0].tolist()) for _ in range(N)]
    code = {perm: i for i, perm in enumerate(itertools.permutations(range(4)))}
    p = chi_square_p([code[tuple(row)] for row in ours.tolist()], [code[row] for row in theirs])
    assert p >= SIGNIFICANCE, p


def _torchvisions_coins(transform, marker: torch.Tensor, applied, n=N, seed=3) -> np.ndarray:
    """Whether ``transform`` acted, over n calls on ``marker``."""
    torch.manual_seed(seed)
    return np.array([bool(applied(transform(marker))) for _ in range(n)])


# a 3×1×2 image of two different colours: a flip, a grey image and solarisation all show
COLOURED = torch.tensor([[0.9, 0.1], [0.2, 0.3], [0.1, 0.6]]).view(3, 1, 2)


def _identity_marker(x):
    return x + 1  # any change tells that RandomApply applied its transform


def _flipped(y):
    return y[0, 0, 0] != COLOURED[0, 0, 0]


def _marked(y):
    return y[0, 0, 0] > 1


def _greyed(y):
    return y[0, 0, 0] == y[1, 0, 0]


def _solarized(y):
    return y[0, 0, 0] < 0.5


@pytest.mark.parametrize("name", list(RECIPES))
def test_coins_follow_torchvisions_transforms(name):
    recipe = RECIPES[name]
    ours = ours_of(recipe, seed=3)
    coins = {  # ours, torchvision's transform, and how its output shows that it acted
        "flip": (ours.flip, T.RandomHorizontalFlip(recipe.flip_p), _flipped),
        "jittered": (ours.jittered, T.RandomApply([_identity_marker], p=recipe.jitter_p), _marked),
        "grey": (ours.grey, T.RandomGrayscale(recipe.grayscale_p), _greyed),
        "blurred": (ours.blurred, T.RandomApply([_identity_marker], p=recipe.blur_p), _marked),
        "solarized": (ours.solarized, T.RandomSolarize(0.5, p=recipe.solarize_p), _solarized),
    }
    rates = {
        "flip": recipe.flip_p,
        "jittered": recipe.jitter_p,
        "grey": recipe.grayscale_p,
        "blurred": recipe.blur_p,
        "solarized": recipe.solarize_p,
    }
    for coin, (drawn, transform, applied) in coins.items():
        drawn = drawn.numpy()
        theirs = _torchvisions_coins(transform, COLOURED, applied)
        assert chi_square_p(drawn, theirs) >= SIGNIFICANCE, coin
        # and against the rate itself, exactly (torchvision's coin is torch.rand(1) < p)
        assert scipy.stats.binomtest(int(drawn.sum()), N, rates[coin]).pvalue >= SIGNIFICANCE, coin


def test_blur_sigma_follows_gaussian_blur():
    recipe = RECIPES["byol-1"]
    ours = ours_of(recipe, seed=4).sigma
    torch.manual_seed(4)
    theirs = [T.GaussianBlur.get_params(*recipe.blur_sigma) for _ in range(N)]
    assert recipe.blur_sigma[0] <= ours.min() and ours.max() <= recipe.blur_sigma[1]
    assert ks_p(ours, theirs) >= SIGNIFICANCE


def test_every_parameter_reads_its_own_uniforms():
    """Independence by construction: the columns of the one uniform draw are a partition."""
    used = []
    for column in augment._COLUMNS.values():
        used += list(range(column.start, column.stop)) if isinstance(column, slice) else [column]
    assert sorted(used) == list(range(augment.DRAWS_PER_IMAGE))


def test_coins_are_independent_of_each_other():
    recipe = augment.ViewRecipe(jitter_p=0.5, grayscale_p=0.5, blur_p=0.5, solarize_p=0.5)
    ours = ours_of(recipe, seed=5)
    names = ("flip", "jittered", "grey", "blurred", "solarized")
    coins = {name: getattr(ours, name).numpy() for name in names}
    for (a, x), (b, y) in itertools.combinations(coins.items(), 2):
        table = [[np.sum(x & y), np.sum(x & ~y)], [np.sum(~x & y), np.sum(~x & ~y)]]
        assert scipy.stats.chi2_contingency(table).pvalue >= SIGNIFICANCE, (a, b)


def test_the_comparisons_reject_a_slightly_wrong_sampler():
    """The tests above can fail: at the same sample size and level, each comparison tells
    torchvision's distribution from a sampler with a small, plausible bug."""
    right = RECIPES["byol-1"]
    theirs = torchvisions_crops(right, 32, 32)
    wider_ratio = augment.ViewRecipe(crop_ratio=(0.7, 1 / 0.7))  # instead of (3/4, 4/3)
    assert crop_p_values(ours_of(wider_ratio), theirs, 32, 32)["log aspect ratio"] < SIGNIFICANCE
    smaller_scale = augment.ViewRecipe(crop_scale=(0.08, 0.9))  # instead of (0.08, 1)
    assert crop_p_values(ours_of(smaller_scale), theirs, 32, 32)["area fraction"] < SIGNIFICANCE

    torch.manual_seed(1)
    their_hue = [T.ColorJitter.get_params(None, None, None, (-0.1, 0.1))[4] for _ in range(N)]
    assert ks_p(ours_of(augment.ViewRecipe(hue=0.09)).hue, their_hue) < SIGNIFICANCE

    their_flips = _torchvisions_coins(T.RandomHorizontalFlip(0.5), COLOURED, _flipped)
    assert (
        chi_square_p(ours_of(augment.ViewRecipe(flip_p=0.47)).flip.numpy(), their_flips)
        < SIGNIFICANCE
    )

    # an order that is a permutation but not a uniform one: hue never first
    order = ours_of(right, seed=2).order.clone()
    first_is_hue = order[:, 0] == augment.HUE
    order[first_is_hue] = order[first_is_hue].roll(1, dims=1)
    torch.manual_seed(2)
    theirs_order = [tuple(T.ColorJitter.get_params(*[None] * 4)[0].tolist()) for _ in range(N)]
    code = {perm: i for i, perm in enumerate(itertools.permutations(range(4)))}
    biased = [code[tuple(row)] for row in order.tolist()]
    assert chi_square_p(biased, [code[row] for row in theirs_order]) < SIGNIFICANCE
