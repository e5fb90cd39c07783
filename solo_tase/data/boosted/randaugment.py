"""BCL's RandAugment: the official op table, a per-sample magnitude and a per-op probability.

Copied in behaviour from the official code (MediaBrain-SJTU/BCL, ``data/randaug.py``,
``RandAugment_prob``): ``n`` ops are drawn with replacement from 15 PIL ops; each is applied with
probability ``p`` at value ``v = m / 30 * (max - min) + min`` (``m`` in [0, 30]). The table keeps
the official quirks: Solarize's threshold and Posterize's bits grow with ``m`` (weaker effect at
larger ``m``), shears / translations / rotations take a random sign, Cutout fills (125, 123, 114).
Randomness comes from Python's ``random`` module, which PyTorch seeds in every loader worker.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageEnhance, ImageOps

MAX_MAGNITUDE = 30.0  # magnitudes m are on RandAugment's [0, 30] scale

Op = Callable[[Image.Image, float], Image.Image]


def _signed(v: float) -> float:
    return -v if random.random() > 0.5 else v


def _affine(img: Image.Image, coeffs: tuple[float, ...]) -> Image.Image:
    return img.transform(img.size, Image.Transform.AFFINE, coeffs)


def shear_x(img: Image.Image, v: float) -> Image.Image:
    return _affine(img, (1, _signed(v), 0, 0, 1, 0))


def shear_y(img: Image.Image, v: float) -> Image.Image:
    return _affine(img, (1, 0, 0, _signed(v), 1, 0))


def translate_x(img: Image.Image, v: float) -> Image.Image:  # v: fraction of the width
    return _affine(img, (1, 0, _signed(v) * img.size[0], 0, 1, 0))


def translate_y(img: Image.Image, v: float) -> Image.Image:  # v: fraction of the height
    return _affine(img, (1, 0, 0, 0, 1, _signed(v) * img.size[1]))


def rotate(img: Image.Image, v: float) -> Image.Image:  # v: degrees
    return img.rotate(_signed(v))


def solarize(img: Image.Image, v: float) -> Image.Image:  # v: threshold in [0, 256]
    # pixels >= v invert, the others stay (PIL); ceil keeps the float threshold's cut
    return ImageOps.solarize(img, math.ceil(v))


def posterize(img: Image.Image, v: float) -> Image.Image:  # v: bits kept
    return ImageOps.posterize(img, max(1, int(v)))


def cutout(img: Image.Image, v: float) -> Image.Image:  # v: square side, fraction of the width
    if v <= 0:
        return img
    side = v * img.size[0]
    w, h = img.size
    x0 = int(max(0, random.uniform(0, w) - side / 2))
    y0 = int(max(0, random.uniform(0, h) - side / 2))
    img = img.copy()
    ImageDraw.Draw(img).rectangle((x0, y0, min(w, x0 + side), min(h, y0 + side)), (125, 123, 114))
    return img


def _enhance(kind: type) -> Op:
    return lambda img, v: kind(img).enhance(v)


# (op, value at m = 0, value at m = 30), in the official order
OPS: tuple[tuple[Op, float, float], ...] = (
    (shear_x, 0.0, 0.6),
    (shear_y, 0.0, 0.6),
    (translate_x, 0.0, 0.66),
    (translate_y, 0.0, 0.66),
    (rotate, 0.0, 60.0),
    (lambda img, _: ImageOps.autocontrast(img), 0.0, 1.0),
    (lambda img, _: ImageOps.invert(img), 0.0, 1.0),
    (lambda img, _: ImageOps.equalize(img), 0.0, 1.0),
    (solarize, 0.0, 110.0),
    (posterize, 4.0, 8.0),
    (_enhance(ImageEnhance.Contrast), 0.1, 1.9),
    (_enhance(ImageEnhance.Color), 0.1, 1.9),
    (_enhance(ImageEnhance.Brightness), 0.1, 1.9),
    (_enhance(ImageEnhance.Sharpness), 0.1, 1.9),
    (cutout, 0.0, 0.4),
)


def rand_augment(img: Image.Image, num_ops: int, magnitude: float, prob: float) -> Image.Image:
    """``num_ops`` ops drawn with replacement, each applied with probability ``prob`` at
    ``magnitude`` (in [0, 30]) to an RGB PIL image."""
    for op, low, high in random.choices(OPS, k=num_ops):
        if random.uniform(0, 1) < prob:
            img = op(img, magnitude / MAX_MAGNITUDE * (high - low) + low)
    return img


class BoostedRandAugment:
    """The per-sample boost inside solo-learn's view pipelines (before ``ToTensor``).

    The dataset calls :meth:`set_sample` with the sample's normalised momentum loss ``w`` in
    [0, 1] before building its views; every view of that sample then gets ``rand_k`` ops with
    probability ``w`` and magnitude (the official ``memoboosted_CIFAR100``)::

        rand_k == 1:  m = 10 + (rand_strength - 10) * w
        rand_k >= 2:  m =  5 + (rand_strength -  5) * w * u,   u ~ U(0, 1) once per sample
    """

    def __init__(self, rand_k: int, rand_strength: float) -> None:
        if rand_k < 1:
            raise ValueError(f"rand_k must be >= 1 (got {rand_k})")
        if not 0 <= rand_strength <= MAX_MAGNITUDE:
            raise ValueError(f"rand_strength must be in [0, 30] (got {rand_strength})")
        self.rand_k = int(rand_k)
        self.rand_strength = float(rand_strength)
        self.min_strength = 10.0 if rand_k == 1 else 5.0  # the official "training stability" floor
        self.magnitude = self.min_strength
        self.prob = 0.0

    def set_sample(self, weight: float) -> None:
        """Draw this sample's magnitude and probability from its weight ``w`` in [0, 1]."""
        spread = weight if self.rand_k == 1 else weight * random.random()
        self.magnitude = self.min_strength + (self.rand_strength - self.min_strength) * spread
        self.prob = float(weight)

    def __call__(self, img: Image.Image) -> Image.Image:
        return rand_augment(img, self.rand_k, self.magnitude, self.prob)

    def __repr__(self) -> str:
        return f"BoostedRandAugment(rand_k={self.rand_k}, rand_strength={self.rand_strength})"
