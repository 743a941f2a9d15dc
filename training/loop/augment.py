"""SimCLR/BYOL augmentations, batched: every image of a batch draws its own crop, flip, jitter
factors and order, grayscale, blur and solarisation, on whatever device the batch lives on.

A view is made in two stages. ``draw`` samples every random parameter of a batch of views (the
``ViewParams``) from one ``torch.Generator`` in ONE call of fixed size, whatever the draws turn
out to be; ``apply`` then computes the views from those parameters with no randomness. Neither
reads a value back to the host (no ``.item()``, no ``bool(tensor)``, no boolean-mask indexing,
no data-dependent shape, no host-to-device copy inside a step), so a whole epoch of views is
queued on a GPU without synchronisation; ``tests/test_training_fast.py`` audits this.

Each view is random resized crop + horizontal flip + resize to the output size in ONE bilinear
resampling (one affine grid per image), then colour jitter with probability p (brightness,
contrast, saturation and hue factors drawn per image and applied in a per-image random order,
as torchvision's ColorJitter), random grayscale, Gaussian blur and solarisation where the recipe
uses them, and per-channel normalisation. The operations follow torchvision's definitions on
float images in [0, 1]; ``tests/training/loop/test_augment.py`` compares each with torchvision and
``tests/test_training_augment_stats.py`` compares the parameters' distributions.

Inputs are uint8 (N, C, H, W) with C = 1 (replicated to RGB after the resampling) or 3. A crop
larger than the output is sampled bilinearly without antialiasing (torchvision's
``antialias=False``); the paper's setting (32×32 sources, 96×96 outputs) only ever enlarges.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

GREY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision's rgb_to_grayscale (ITU-R 601-2 luma)
BRIGHTNESS, CONTRAST, SATURATION, HUE = range(4)  # torchvision's ColorJitter numbers them so
CROP_ATTEMPTS = 10  # torchvision's RandomResizedCrop tries 10 (area, ratio) draws


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


# Drawing the parameters ------------------------------------------------------------------------


@dataclass
class ViewParams:
    """Every random choice of a batch of views, one entry per image (tensors on the device)."""

    top: torch.Tensor  # crop box, in source pixels (float, integral values)
    left: torch.Tensor
    height: torch.Tensor
    width: torch.Tensor
    flip: torch.Tensor  # bool
    jittered: torch.Tensor  # bool: colour jitter applied (probability jitter_p)
    brightness: torch.Tensor  # factor in [1 − b, 1 + b]
    contrast: torch.Tensor
    saturation: torch.Tensor
    hue: torch.Tensor  # shift in [−h, h] turns
    order: torch.Tensor  # (N, 4) int64: order[i, k] is the k-th operation (BRIGHTNESS, ...)
    grey: torch.Tensor  # bool
    blurred: torch.Tensor  # bool
    sigma: torch.Tensor  # blur's σ, drawn for every image, used where blurred
    solarized: torch.Tensor  # bool


# Columns of the one uniform draw per view: 10 areas, 10 log-ratios, 2 crop positions, the
# flip, jitter, grayscale, blur and solarisation coins, 4 jitter factors, 4 keys whose argsort
# is the jitter order, and σ.
_COLUMNS = {
    "area": slice(0, CROP_ATTEMPTS),
    "ratio": slice(CROP_ATTEMPTS, 2 * CROP_ATTEMPTS),
    **{
        name: 2 * CROP_ATTEMPTS + i
        for i, name in enumerate(
            (
                "top",
                "left",
                "flip",
                "jitter",
                "grey",
                "blur",
                "solarize",
                "sigma",
                "brightness",
                "contrast",
                "saturation",
                "hue",
            )
        )
    },
    "order": slice(2 * CROP_ATTEMPTS + 12, 2 * CROP_ATTEMPTS + 16),
}
DRAWS_PER_IMAGE = 2 * CROP_ATTEMPTS + 16


def draw(recipe: ViewRecipe, n: int, height: int, width: int, generator) -> ViewParams:
    """The parameters of n views of height×width images under ``recipe``, from ONE call of
    ``torch.rand`` (n × DRAWS_PER_IMAGE uniforms): one kernel launch instead of a dozen, and a
    generator that advances by the same amount whatever the coins show (resume relies on it)."""
    u = torch.rand(n, DRAWS_PER_IMAGE, generator=generator, device=generator.device)
    c = _COLUMNS

    def between(low, high, column):
        return low + (high - low) * u[:, column]

    top, left, h, w = crop_boxes(
        u[:, c["area"]],
        u[:, c["ratio"]],
        u[:, c["top"]],
        u[:, c["left"]],
        height,
        width,
        recipe.crop_scale,
        recipe.crop_ratio,
    )
    return ViewParams(
        top=top,
        left=left,
        height=h,
        width=w,
        flip=u[:, c["flip"]] < recipe.flip_p,
        jittered=u[:, c["jitter"]] < recipe.jitter_p,
        brightness=between(1 - recipe.brightness, 1 + recipe.brightness, c["brightness"]),
        contrast=between(1 - recipe.contrast, 1 + recipe.contrast, c["contrast"]),
        saturation=between(1 - recipe.saturation, 1 + recipe.saturation, c["saturation"]),
        hue=between(-recipe.hue, recipe.hue, c["hue"]),
        order=u[:, c["order"]].argsort(dim=1),  # a uniform random permutation per image
        grey=u[:, c["grey"]] < recipe.grayscale_p,
        blurred=u[:, c["blur"]] < recipe.blur_p,
        sigma=between(*recipe.blur_sigma, c["sigma"]),
        solarized=u[:, c["solarize"]] < recipe.solarize_p,
    )


def crop_boxes(area_u, ratio_u, top_u, left_u, height, width, scale, ratio):
    """torchvision's RandomResizedCrop.get_params for n images at once, from uniforms: up to
    CROP_ATTEMPTS (area, aspect ratio) draws per image (columns of ``area_u``, ``ratio_u``), the
    first that fits wins; when none fits, the central crop of the whole image with its ratio
    clamped. Returns float tensors top, left, h, w."""
    area = (scale[0] + (scale[1] - scale[0]) * area_u) * height * width
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    aspect = (log_low + (log_high - log_low) * ratio_u).exp()
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
    top = torch.where(found, (top_u * (height - h + 1)).floor(), ((height - h) / 2).floor())
    left = torch.where(found, (left_u * (width - w + 1)).floor(), ((width - w) / 2).floor())
    return top, left, h, w


# Applying them ---------------------------------------------------------------------------------


def apply(images, params: ViewParams, size: int, recipe: ViewRecipe, mean, std) -> torch.Tensor:
    """The views (N, 3, size, size) of the uint8 ``images`` with the drawn ``params``, normalised
    with the per-channel ``mean`` and ``std`` (device tensors; tuples work, with a copy each
    call). No randomness: ``torch.compile`` can fuse it (``--compile``)."""
    x = images.float().div_(255)
    x = resized_crop(x, params.top, params.left, params.height, params.width, params.flip, size)
    x = x.expand(-1, 3, -1, -1)  # a grey source is resampled once, then replicated to RGB
    x = colour_jitter(x, params)
    x = torch.where(params.grey.view(-1, 1, 1, 1), grey(x).expand_as(x), x)
    if recipe.blur_p > 0:  # a static choice: recipes without blur skip its work
        x = gaussian_blur(x, params.sigma, blur_kernel_size(size), blurred=params.blurred)
    if recipe.solarize_p > 0:
        x = torch.where(params.solarized.view(-1, 1, 1, 1) & (x >= 0.5), 1 - x, x)
    return normalise(x, mean, std)


def view(images, size: int, recipe: ViewRecipe, mean, std, generator) -> torch.Tensor:
    """One augmented, normalised view (N, 3, size, size) of the uint8 ``images``."""
    n, _, height, width = images.shape
    return apply(images, draw(recipe, n, height, width, generator), size, recipe, mean, std)


def resized_crop(images, top, left, h, w, flip, size: int) -> torch.Tensor:
    """Crop rows [top, top+h) and columns [left, left+w) of each image, mirror it where ``flip``,
    and resample it to size×size, all in one bilinear ``grid_sample`` (half-pixel centres, as
    torchvision's resize)."""
    n, _, height, width = images.shape
    zero = torch.zeros_like(w)
    theta = torch.stack(
        (
            torch.stack((torch.where(flip, -w, w) / width, zero, (2 * left + w) / width - 1), 1),
            torch.stack((zero, h / height, (2 * top + h) / height - 1), 1),
        ),
        dim=1,
    ).to(images.dtype)  # output x ∈ [-1, 1] → the crop's columns, output y → its rows
    grid = F.affine_grid(theta, [n, images.shape[1], size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def grey(images: torch.Tensor) -> torch.Tensor:
    """Luma (N, 1, H, W) of RGB images, torchvision's weighted sum in three kernels. The weights
    are Python numbers: a weight tensor would be a host-to-device copy at every call, and each
    such copy waits for the GPU's queue."""
    r, g, b = images.unbind(dim=1)
    w_r, w_g, w_b = GREY_WEIGHTS
    return (w_r * r).add_(g, alpha=w_g).add_(b, alpha=w_b).unsqueeze(1)


def _blend(images, other, factor):
    """torchvision's _blend, factor·images + (1 − factor)·other clamped to [0, 1], per image, as
    one ``lerp`` (other + factor·(images − other)): one pass over the pixels instead of three,
    equal up to one rounding, and exactly ``images`` at factor 1."""
    return torch.lerp(other.expand_as(images), images, factor.view(-1, 1, 1, 1)).clamp_(0, 1)


def adjust_brightness(images, factor):
    return _blend(images, torch.zeros_like(images), factor)


def adjust_contrast(images, factor):
    return _blend(images, grey(images).mean(dim=(1, 2, 3), keepdim=True), factor)


def adjust_saturation(images, factor):
    return _blend(images, grey(images), factor)


def adjust_hue(images, shift):
    """Rotate the hue by ``shift`` turns (per image), as torchvision's adjust_hue, in one closed
    form instead of torchvision's RGB → HSV → RGB with a six-way table lookup: with hue H in
    sixths of a turn and k_c = (n_c + H) mod 6, n = (5, 3, 1) for (R, G, B), each channel is
    max − (max − min)·clamp(min(k_c, 4 − k_c), 0, 1), which is torchvision's hsv_to_rgb (V·S is
    max − min). Equal to torchvision's up to float32 round-off, in fewer passes over the pixels
    than the round trip."""
    top, bottom = images.amax(dim=1, keepdim=True), images.amin(dim=1, keepdim=True)
    spread = top - bottom  # 0 at a grey pixel, which has no hue and stays grey
    distance = (top - images) / torch.where(spread == 0, 1.0, spread)  # (max − c)/(max − min)
    (r, g, _), (rc, gc, bc), maximum = images.unbind(1), distance.unbind(1), top[:, 0]
    sextant = torch.where(
        maximum == r, bc - gc, torch.where(maximum == g, 2 + rc - bc, 4 + gc - rc)
    )
    hue = sextant.unsqueeze(1) + 6 * shift.view(-1, 1, 1, 1)  # in sixths of a turn, mod 6
    channel = torch.arange(5, 0, -2, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    k = (hue + channel) % 6
    return top - spread * torch.minimum(k, 4 - k).clamp(0, 1)


def colour_jitter(images, params: ViewParams):
    """Where ``params.jittered``, brightness, contrast, saturation and hue with each image's own
    factors, in each image's own order (torchvision's ColorJitter), without a host read.

    The three blends are one formula, factor·x + (1 − factor)·other with other = 0 (brightness),
    the mean luma (contrast) or the luma (saturation), so one pass can apply a different blend
    to each image, and factor 1 makes it exactly the identity. Only the hue is different; each
    image meets it once, so: the blends that precede the hue in its order (three passes, each
    the identity for images whose hue came earlier), the hue (one evaluation), then the blends
    that follow (three passes). Seven passes instead of computing all four operations at each
    of the four positions (sixteen, four of them hue, the costliest)."""
    slots = torch.arange(3, device=images.device)
    hue_at = (params.order == HUE).to(torch.uint8).argmax(dim=1, keepdim=True)  # its position
    blends = params.order.gather(1, slots + (slots >= hue_at))  # (N, 3): the order without hue
    factors = torch.stack((params.brightness, params.contrast, params.saturation), dim=1)
    factors = factors.gather(1, blends)
    to_luma = (blends == SATURATION).to(images.dtype)
    to_mean = (blends == CONTRAST).to(images.dtype)
    jittered = params.jittered.unsqueeze(1)
    before = torch.where(jittered & (slots < hue_at), factors, 1.0)  # factor 1: no change
    after = torch.where(jittered & (slots >= hue_at), factors, 1.0)
    for slot in range(3):
        images = _blend_pass(images, before[:, slot], to_luma[:, slot], to_mean[:, slot])
    images = torch.where(params.jittered.view(-1, 1, 1, 1), adjust_hue(images, params.hue), images)
    for slot in range(3):
        images = _blend_pass(images, after[:, slot], to_luma[:, slot], to_mean[:, slot])
    return images


def _blend_pass(images, factor, to_luma, to_mean):
    """Per image, _blend with other = to_mean·(mean luma) + to_luma·luma: one of brightness (both
    0), contrast or saturation (one of them 1), chosen per image by 0/1 weights, so exactly."""
    luma = grey(images)
    mean = to_mean.view(-1, 1, 1, 1) * luma.mean(dim=(1, 2, 3), keepdim=True)
    return _blend(images, torch.addcmul(mean, to_luma.view(-1, 1, 1, 1), luma), factor)


def gaussian_blur(images, sigma, kernel_size: int, blurred=None):
    """Separable Gaussian blur, one σ per image, reflect padding (torchvision's gaussian_blur),
    as two grouped convolutions with one kernel per (image, channel). Where ``blurred`` is False
    the kernel is a unit impulse, which convolves to exactly the image: no selection pass
    afterwards. (Two batched products B·X·Bᵀ with banded matrices do more arithmetic for the
    same result.)"""
    n, c, height, width = images.shape
    offsets = torch.arange(kernel_size, device=images.device, dtype=images.dtype) - kernel_size // 2
    kernel = torch.exp(-0.5 * (offsets / sigma.view(-1, 1)) ** 2)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    if blurred is not None:
        kernel = torch.where(blurred.view(-1, 1), kernel, (offsets == 0).to(images.dtype))
    kernel = kernel.unsqueeze(1).expand(n, c, kernel_size).reshape(n * c, kernel_size)
    pad = kernel_size // 2
    x = images.reshape(1, n * c, height, width)
    x = F.conv2d(
        F.pad(x, (pad, pad, 0, 0), mode="reflect"), kernel.view(n * c, 1, 1, -1), groups=n * c
    )
    x = F.conv2d(
        F.pad(x, (0, 0, pad, pad), mode="reflect"), kernel.view(n * c, 1, -1, 1), groups=n * c
    )
    return x.view(n, c, height, width)


def normalise(images, mean, std) -> torch.Tensor:
    """(images − mean)/std per channel. ``mean`` and ``std`` are best device tensors: a tuple is
    copied to the device at each call, and on a GPU that copy waits for the stream."""
    mean = torch.as_tensor(mean, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
    return (images - mean) / std


def plain(images, size: int, mean, std) -> torch.Tensor:
    """The whole image resized to size×size and normalised, no augmentation (probe set, linear
    evaluation), by the same resampling as the views."""
    x = images.float().div_(255)
    n, _, height, width = x.shape
    full = torch.ones(n, device=x.device)
    no_flip = torch.zeros(n, dtype=torch.bool, device=x.device)
    x = resized_crop(x, 0 * full, 0 * full, height * full, width * full, no_flip, size)
    return normalise(x.expand(-1, 3, -1, -1), mean, std)


class TwoViews:
    """The pair (t1(x), t2(x)), t1 ~ T1 and t2 ~ T2 of a recipe (Algorithm 1, line 4), for
    uint8 batches; ``mean`` and ``std`` are per-channel (1 or 3 values)."""

    def __init__(self, recipe: str, size: int, mean, std):
        if recipe not in RECIPES:
            raise ValueError(f"unknown augmentation recipe {recipe!r}; valid: {', '.join(RECIPES)}")
        self.recipes, self.size = RECIPES[recipe], size
        self.mean = tuple(mean) * (3 // len(mean))
        self.std = tuple(std) * (3 // len(std))
        self.apply = apply
        self._on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def compile(self) -> None:
        """Compile ``apply`` (the parameters are drawn eagerly: a generator cannot be traced),
        so that its ~100 elementwise kernels per view fuse into a few."""
        self.apply = torch.compile(apply, dynamic=False)

    def _statistics(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """mean and std on ``device``, copied there once (a host-to-device copy synchronises)."""
        if device not in self._on_device:
            self._on_device[device] = tuple(
                torch.tensor(v).to(device) for v in (self.mean, self.std)
            )
        return self._on_device[device]

    def __call__(self, images, generator):
        n, _, height, width = images.shape
        mean, std = self._statistics(images.device)
        return tuple(
            self.apply(images, draw(r, n, height, width, generator), self.size, r, mean, std)
            for r in self.recipes
        )

    def plain(self, images):
        return plain(images, self.size, *self._statistics(images.device))
