"""SimCLR/BYOL augmentations, batched: every image of a batch draws its own crop, flip, jitter
factors and order, grayscale, blur and solarisation, on whatever device the batch lives on.

Each view is random resized crop + horizontal flip + resize to the output size in ONE bilinear
resampling (one affine grid per image), then colour jitter with probability p (brightness,
contrast, saturation and hue factors drawn per image and applied in a per-image random order,
as torchvision's ColorJitter), random grayscale, Gaussian blur and solarisation where the recipe
uses them, and per-channel normalisation. The operations follow torchvision's definitions on
float images in [0, 1]; all randomness comes from one ``torch.Generator`` on the batch's
device, drawn in a fixed amount per batch (whatever the draws turn out to be), and nothing reads
a value back to the host, so a whole epoch of views is queued without synchronisation.

Inputs are uint8 (N, C, H, W) with C = 1 (replicated to RGB) or 3. A crop larger than the output
is sampled bilinearly without antialiasing (torchvision's ``antialias=False``); the paper's
setting (32×32 sources, 96×96 outputs) only ever enlarges.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

GREY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale (ITU-R 601-2 luma)


@dataclass(frozen=True)
class ViewRecipe:
    """The distribution T of one view's augmentation."""

    crop_scale: tuple[float, float] = (0.08, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.2
    hue: float = 0.1
    grayscale_p: float = 0.2
    blur_p: float = 0.0
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarize_p: float = 0.0


RECIPES = {
    # Grill et al. (2020), Table 6: asymmetric views T and T' (blur always on the first, rarely
    # on the second; solarisation on the second only).
    "byol": (ViewRecipe(blur_p=1.0), ViewRecipe(blur_p=0.1, solarize_p=0.2)),
    # Chen et al. (2020a), CIFAR10 setting: colour strength s = 0.5, i.e. jitter (0.8s, 0.8s,
    # 0.8s, 0.2s), no blur, both views alike.
    "simclr": (ViewRecipe(saturation=0.4),) * 2,
}


def blur_kernel_size(size: int) -> int:
    """BYOL's kernel covers about 10% of the image (23 pixels at 224): 11 at 96, 5 at 32."""
    return 2 * round(size / 20) + 1


def _uniform(low: float, high: float, n: int, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, device=generator.device)


def _coin(p: float, n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=generator.device) < p


def to_rgb(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 1 or 3, H, W) → float RGB in [0, 1]."""
    images = images.float().div_(255)
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def crop_boxes(n, height, width, scale, ratio, generator, attempts: int = 10):
    """torchvision's RandomResizedCrop.get_params for n images at once: up to ``attempts``
    (area, aspect ratio) draws per image, the first that fits wins; when none fits, the central
    crop of the whole image with its ratio clamped. Returns float tensors top, left, h, w."""
    area = _uniform(scale[0], scale[1], n * attempts, generator).view(n, attempts) * height * width
    log_ratio = _uniform(math.log(ratio[0]), math.log(ratio[1]), n * attempts, generator)
    aspect = log_ratio.view(n, attempts).exp()
    w = (area * aspect).sqrt().round()
    h = (area / aspect).sqrt().round()
    fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = fits.to(torch.uint8).argmax(dim=1, keepdim=True)  # argmax returns the first maximum
    w, h, found = w.gather(1, first)[:, 0], h.gather(1, first)[:, 0], fits.any(dim=1)
    fallback_w, fallback_h = float(width), float(height)
    if width / height < min(ratio):
        fallback_h = float(round(width / min(ratio)))
    elif width / height > max(ratio):
        fallback_w = float(round(height * max(ratio)))
    w = torch.where(found, w, fallback_w)
    h = torch.where(found, h, fallback_h)
    position = torch.rand(2, n, generator=generator, device=generator.device)
    top = torch.where(found, (position[0] * (height - h + 1)).floor(), ((height - h) / 2).floor())
    left = torch.where(found, (position[1] * (width - w + 1)).floor(), ((width - w) / 2).floor())
    return top, left, h, w


def resized_crop(images, top, left, h, w, flip, size: int) -> torch.Tensor:
    """Crop rows [top, top+h) and columns [left, left+w) of each image, mirror it where ``flip``,
    and resample it to size×size, all in one bilinear ``grid_sample`` (half-pixel centres, as
    torchvision's resize)."""
    n, _, height, width = images.shape
    theta = torch.zeros(n, 2, 3, device=images.device, dtype=images.dtype)
    theta[:, 0, 0] = torch.where(flip, -w, w) / width  # output x ∈ [-1, 1] → crop's columns
    theta[:, 0, 2] = (2 * left + w) / width - 1
    theta[:, 1, 1] = h / height
    theta[:, 1, 2] = (2 * top + h) / height - 1
    grid = F.affine_grid(theta, [n, images.shape[1], size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def grey(images: torch.Tensor) -> torch.Tensor:
    """Luma (N, 1, H, W) of RGB images."""
    weights = torch.tensor(GREY_WEIGHTS, device=images.device, dtype=images.dtype)
    return (images * weights.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


def _blend(images, other, factor):
    """torchvision's _blend: factor·images + (1 − factor)·other, clamped to [0, 1]; per image."""
    factor = factor.view(-1, 1, 1, 1)
    return (factor * images + (1 - factor) * other).clamp(0, 1)


def adjust_brightness(images, factor):
    return _blend(images, torch.zeros_like(images), factor)


def adjust_contrast(images, factor):
    return _blend(images, grey(images).mean(dim=(1, 2, 3), keepdim=True), factor)


def adjust_saturation(images, factor):
    return _blend(images, grey(images), factor)


def adjust_hue(images, shift):
    """Rotate the hue by ``shift`` turns (per image) in HSV space, as torchvision's adjust_hue."""
    h, s, v = rgb_to_hsv(images).unbind(dim=1)
    h = (h + shift.view(-1, 1, 1)) % 1.0
    return hsv_to_rgb(torch.stack((h, s, v), dim=1))


def rgb_to_hsv(images):
    r, g, b = images.unbind(dim=1)
    top, bottom = images.amax(dim=1), images.amin(dim=1)
    spread = top - bottom
    grey_pixel = spread == 0
    s = spread / torch.where(grey_pixel, torch.ones_like(top), top)
    spread = torch.where(grey_pixel, torch.ones_like(spread), spread)
    rc, gc, bc = (top - r) / spread, (top - g) / spread, (top - b) / spread
    h = torch.where(top == r, bc - gc, torch.where(top == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = torch.where(grey_pixel, torch.zeros_like(h), h)
    return torch.stack(((h / 6.0 + 1.0) % 1.0, s, top), dim=1)


def hsv_to_rgb(images):
    h, s, v = images.unbind(dim=1)
    sector = (h * 6.0).floor()
    f = h * 6.0 - sector
    sector = sector.long() % 6
    p = (v * (1 - s)).clamp(0, 1)
    q = (v * (1 - s * f)).clamp(0, 1)
    t = (v * (1 - s * (1 - f))).clamp(0, 1)
    # (r, g, b) for each of the six hue sectors
    table = torch.stack(
        (
            torch.stack((v, q, p, p, t, v), dim=1),
            torch.stack((t, v, v, q, p, p), dim=1),
            torch.stack((p, p, t, v, v, q), dim=1),
        ),
        dim=1,
    )  # (N, 3, 6, H, W)
    index = sector.unsqueeze(1).unsqueeze(1).expand(-1, 3, 1, -1, -1)
    return table.gather(2, index).squeeze(2)


def gaussian_blur(images, sigma, kernel_size: int):
    """Separable Gaussian blur, one σ per image, reflect padding (torchvision's gaussian_blur),
    as two grouped convolutions with one kernel per (image, channel)."""
    n, c, height, width = images.shape
    offsets = torch.arange(kernel_size, device=images.device, dtype=images.dtype) - kernel_size // 2
    kernel = torch.exp(-0.5 * (offsets / sigma.view(-1, 1)) ** 2)
    kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0)
    pad = kernel_size // 2
    x = images.reshape(1, n * c, height, width)
    x = F.conv2d(F.pad(x, (pad, pad, 0, 0), mode="reflect"), kernel.view(n * c, 1, 1, -1), groups=n * c)
    x = F.conv2d(F.pad(x, (0, 0, pad, pad), mode="reflect"), kernel.view(n * c, 1, -1, 1), groups=n * c)
    return x.view(n, c, height, width)


def colour_jitter(images, recipe: ViewRecipe, generator):
    """With probability jitter_p per image, brightness, contrast, saturation and hue, each with
    its own per-image factor, applied in a per-image random order (torchvision's ColorJitter)."""
    n = images.shape[0]
    jittered = _coin(recipe.jitter_p, n, generator)
    factors = (
        _uniform(1 - recipe.brightness, 1 + recipe.brightness, n, generator),
        _uniform(1 - recipe.contrast, 1 + recipe.contrast, n, generator),
        _uniform(1 - recipe.saturation, 1 + recipe.saturation, n, generator),
        _uniform(-recipe.hue, recipe.hue, n, generator),
    )
    operations = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
    order = torch.rand(n, 4, generator=generator, device=generator.device).argsort(dim=1)
    for position in range(4):
        for index, (operation, factor) in enumerate(zip(operations, factors)):
            chosen = (jittered & (order[:, position] == index)).view(-1, 1, 1, 1)
            images = torch.where(chosen, operation(images, factor), images)
    return images


def view(images, size: int, recipe: ViewRecipe, mean, std, generator) -> torch.Tensor:
    """One augmented, normalised view (N, 3, size, size) of the uint8 ``images``."""
    x = to_rgb(images)
    n, _, height, width = x.shape
    top, left, h, w = crop_boxes(n, height, width, recipe.crop_scale, recipe.crop_ratio, generator)
    x = resized_crop(x, top, left, h, w, _coin(recipe.flip_p, n, generator), size)
    x = colour_jitter(x, recipe, generator)
    x = torch.where(_coin(recipe.grayscale_p, n, generator).view(-1, 1, 1, 1), grey(x).expand_as(x), x)
    blurred, sigma = _coin(recipe.blur_p, n, generator), _uniform(*recipe.blur_sigma, n, generator)
    if recipe.blur_p > 0:
        x = torch.where(blurred.view(-1, 1, 1, 1), gaussian_blur(x, sigma, blur_kernel_size(size)), x)
    solarized = _coin(recipe.solarize_p, n, generator).view(-1, 1, 1, 1)
    x = torch.where(solarized & (x >= 0.5), 1 - x, x)
    return normalise(x, mean, std)


def normalise(images, mean, std) -> torch.Tensor:
    mean = torch.as_tensor(mean, device=images.device, dtype=images.dtype).view(1, -1, 1, 1)
    std = torch.as_tensor(std, device=images.device, dtype=images.dtype).view(1, -1, 1, 1)
    return (images - mean) / std


def plain(images, size: int, mean, std) -> torch.Tensor:
    """The whole image resized to size×size and normalised, no augmentation (probe set, linear
    evaluation), by the same resampling as the views."""
    x = to_rgb(images)
    n, _, height, width = x.shape
    full = torch.ones(n, device=x.device)
    no_flip = torch.zeros(n, dtype=torch.bool, device=x.device)
    x = resized_crop(x, 0 * full, 0 * full, height * full, width * full, no_flip, size)
    return normalise(x, mean, std)


class TwoViews:
    """The pair (t1(x), t2(x)), t1 ~ T1 and t2 ~ T2 of a recipe (Algorithm 1, line 4), for
    uint8 batches; ``mean`` and ``std`` are per-channel (1 or 3 values)."""

    def __init__(self, recipe: str, size: int, mean, std):
        if recipe not in RECIPES:
            raise ValueError(f"unknown augmentation recipe {recipe!r}; valid: {', '.join(RECIPES)}")
        self.recipes, self.size = RECIPES[recipe], size
        self.mean = tuple(mean) * (3 // len(mean))
        self.std = tuple(std) * (3 // len(std))

    def __call__(self, images, generator):
        first, second = self.recipes
        return (
            view(images, self.size, first, self.mean, self.std, generator),
            view(images, self.size, second, self.mean, self.std, generator),
        )

    def plain(self, images):
        return plain(images, self.size, self.mean, self.std)
