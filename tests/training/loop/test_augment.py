"""The batched augmentations against torchvision's per-image transforms: each operation with given
parameters, the crop parameters' distribution, and the per-sample randomness."""

import pytest
import torch
import torchvision.transforms.functional as TF

from training.loop import augment

N = 6


@pytest.fixture
def images():
    return torch.rand(N, 3, 20, 24, generator=torch.Generator().manual_seed(0))


def _uint8(shape, seed):
    return torch.randint(
        0, 256, shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(seed)
    )


def _per_image(function, images, values):
    return torch.stack([function(x, v.item()) for x, v in zip(images, values)])


@pytest.mark.parametrize(
    "mine, theirs, values",
    [
        (augment.adjust_brightness, TF.adjust_brightness, [0.6, 0.9, 1.0, 1.2, 1.4, 0.7]),
        (augment.adjust_contrast, TF.adjust_contrast, [0.6, 0.9, 1.0, 1.2, 1.4, 0.7]),
        (augment.adjust_saturation, TF.adjust_saturation, [0.6, 0.9, 1.0, 1.2, 1.4, 0.7]),
        (augment.adjust_hue, TF.adjust_hue, [-0.1, -0.05, 0.0, 0.03, 0.1, 0.07]),
    ],
)
def test_colour_operations_equal_torchvisions_per_image(images, mine, theirs, values):
    values = torch.tensor(values)
    # float32 round-off of a few operations on values in [0, 1]
    expected = _per_image(theirs, images, values)
    torch.testing.assert_close(mine(images, values), expected, atol=1e-6, rtol=0)


def test_hue_of_grey_pixels_stays_grey(images):
    grey = images[:, :1].expand(-1, 3, -1, -1)
    shifted = augment.adjust_hue(grey, torch.full((N,), 0.1))
    torch.testing.assert_close(shifted, grey, atol=1e-6, rtol=0)


def test_grayscale_and_blur_equal_torchvisions(images):
    torch.testing.assert_close(augment.grey(images), TF.rgb_to_grayscale(images))
    sigma = torch.tensor([0.1, 0.5, 1.0, 1.5, 2.0, 0.3])
    blurred = torch.stack(
        [TF.gaussian_blur(x, [5, 5], [s.item()] * 2) for x, s in zip(images, sigma)]
    )
    torch.testing.assert_close(augment.gaussian_blur(images, sigma, 5), blurred, atol=1e-6, rtol=0)


def test_resized_crop_with_flip_equals_torchvision_inside_the_crop(images):
    """One resampling of the whole image equals torchvision's crop-then-resize (then flip) except
    within half a source pixel of the crop's edge, where it reads the pixel beyond the crop
    instead of repeating the edge (as resizing first, then cropping, would)."""
    top, left = torch.tensor([0.0, 3, 5, 0, 2, 1]), torch.tensor([0.0, 4, 1, 0, 6, 2])
    h, w = torch.tensor([20.0, 10, 15, 7, 12, 18]), torch.tensor([24.0, 12, 20, 9, 10, 22])
    flip = torch.tensor([False, True, False, True, False, True])
    mine = augment.resized_crop(images, top, left, h, w, flip, 32)
    theirs = []
    for i, x in enumerate(images):
        box = [int(v[i]) for v in (top, left, h, w)]
        crop = TF.resized_crop(x, *box, [32, 32], antialias=False)
        theirs.append(TF.hflip(crop) if flip[i] else crop)
    theirs = torch.stack(theirs)
    # 32/7 < 5 output pixels cover the outer half source pixel: 3 on each side is inside
    torch.testing.assert_close(mine[..., 3:-3, 3:-3], theirs[..., 3:-3, 3:-3], atol=1e-5, rtol=0)
    torch.testing.assert_close(mine[0], theirs[0], atol=1e-5, rtol=0)  # the whole image: all of it


def test_apply_equals_torchvisions_per_image_pipeline_with_the_same_parameters():
    """Given the drawn parameters, the batched colour jitter (each image's order and factors),
    grayscale, blur, solarisation and normalisation equal torchvision's functional transforms
    applied image by image in that order, on the resampled crops."""
    n, size = 96, 16  # 96 images: every one of the 24 jitter orders, several times
    recipe = augment.ViewRecipe(jitter_p=0.9, grayscale_p=0.3, blur_p=0.5, solarize_p=0.5)
    uint8 = _uint8((n, 3, 12, 12), seed=6)
    params = augment.draw(recipe, n, 12, 12, torch.Generator().manual_seed(7))
    assert len({tuple(o) for o in params.order.tolist()}) == 24
    mean, std = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)
    mine = augment.apply(uint8, params, size, recipe, mean, std)
    crops = augment.resized_crop(
        uint8.float() / 255, params.top, params.left, params.height, params.width, params.flip, size
    )
    operations = {
        augment.BRIGHTNESS: (TF.adjust_brightness, params.brightness),
        augment.CONTRAST: (TF.adjust_contrast, params.contrast),
        augment.SATURATION: (TF.adjust_saturation, params.saturation),
        augment.HUE: (TF.adjust_hue, params.hue),
    }
    theirs = []
    for i, x in enumerate(crops):
        if params.jittered[i]:
            for k in params.order[i].tolist():
                operation, factor = operations[k]
                x = operation(x, factor[i].item())
        if params.grey[i]:
            x = TF.rgb_to_grayscale(x, num_output_channels=3)
        if params.blurred[i]:
            kernel, sigma = augment.blur_kernel_size(size), params.sigma[i].item()
            x = TF.gaussian_blur(x, [kernel, kernel], [sigma, sigma])
        if params.solarized[i]:
            x = TF.solarize(x, 0.5)
        theirs.append(TF.normalize(x, mean, std))
    # float32 round-off of ~10 operations, magnified up to 5× by the division by std
    torch.testing.assert_close(mine, torch.stack(theirs), atol=2e-5, rtol=0)


def test_views_are_per_sample_random_deterministic_and_normalised():
    uint8 = _uint8((8, 1, 32, 32), seed=2)
    uint8[1] = uint8[0]  # two identical images must still get different views
    views = augment.TwoViews("byol", 24, (0.5,), (0.25,))
    x1, x2 = views(uint8, torch.Generator().manual_seed(3))
    y1, _ = views(uint8, torch.Generator().manual_seed(3))
    assert x1.shape == x2.shape == (8, 3, 24, 24) and x1.dtype == torch.float32
    assert torch.equal(x1, y1)  # the generator alone decides
    assert not torch.allclose(x1[0], x1[1]) and not torch.allclose(x1, x2)
    assert x1.min() >= (0 - 0.5) / 0.25 and x1.max() <= (1 - 0.5) / 0.25


def test_plain_is_the_identity_resampling():
    uint8 = _uint8((3, 3, 32, 32), seed=4)
    plain = augment.plain(uint8, 32, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    torch.testing.assert_close(plain, uint8.float() / 255, atol=1e-6, rtol=0)


def test_random_draws_per_batch_do_not_depend_on_the_outcome():
    """A fixed number of draws per batch keeps the generator in step whatever the coins show,
    which resume exactness relies on."""
    uint8 = torch.zeros(4, 3, 16, 16, dtype=torch.uint8)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    half = (0.5,) * 3
    augment.view(uint8, 16, augment.ViewRecipe(blur_p=1.0, solarize_p=1.0), half, half, g1)
    augment.view(uint8, 16, augment.ViewRecipe(jitter_p=0.0, grayscale_p=0.0), half, half, g2)
    assert torch.equal(g1.get_state(), g2.get_state())
