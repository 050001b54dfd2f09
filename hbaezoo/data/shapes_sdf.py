"""Signed distance functions of the parametric solids drawn by :mod:`hbaezoo.data.shapes_render`.

Every function works on flat coordinate tensors ``x, y, z`` of shape ``[n]`` (structure of
arrays: cheaper than ``[n, 3]`` on CPU) and per-point parameters of shape ``[n]`` or Python
floats, and returns a distance tensor ``[n]``. ``y`` points up. Many are *bounds* (never larger
than the true distance) rather than exact distances, which is all sphere tracing needs.

Only +, -, *, /, sqrt, abs, min and max are used: they are correctly rounded, so a point's
distance never depends on where it sits in a tensor (SIMD body vs scalar tail), which keeps the
renderer bit-identical for any batch size.

A :class:`Shape` ties an SDF to the ranges of its parameters and to a bounding radius, the
renderer then rescales every object to the same bounding sphere.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor


def _len2(a: Tensor, b: Tensor) -> Tensor:
    return torch.sqrt(a * a + b * b)


def _len3(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    return torch.sqrt(a * a + b * b + c * c)


# ----------------------------------------------------------------------------- primitives


def sd_sphere(x: Tensor, y: Tensor, z: Tensor, r) -> Tensor:
    """Sphere of radius ``r`` centred at the origin."""
    return _len3(x, y, z) - r


def sd_ellipsoid(x: Tensor, y: Tensor, z: Tensor, a, b, c) -> Tensor:
    """Ellipsoid with semi-axes ``a, b, c`` (Quilez's gradient-corrected approximation)."""
    k0 = _len3(x / a, y / b, z / c)
    k1 = _len3(x / (a * a), y / (b * b), z / (c * c)).clamp_min(1e-6)
    return k0 * (k0 - 1.0) / k1


def sd_box(x: Tensor, y: Tensor, z: Tensor, bx, by, bz, rounding=0.0) -> Tensor:
    """Box with half-extents ``bx, by, bz`` whose edges are rounded with radius ``rounding``."""
    qx, qy, qz = x.abs() - bx + rounding, y.abs() - by + rounding, z.abs() - bz + rounding
    outside = _len3(qx.clamp_min(0), qy.clamp_min(0), qz.clamp_min(0))
    inside = torch.maximum(torch.maximum(qx, qy), qz).clamp_max(0)
    return outside + inside - rounding


def sd_cylinder(x: Tensor, y: Tensor, z: Tensor, r, h) -> Tensor:
    """Upright cylinder of radius ``r`` and half-height ``h``."""
    dr, dy = _len2(x, z) - r, y.abs() - h
    return torch.maximum(dr, dy).clamp_max(0) + _len2(dr.clamp_min(0), dy.clamp_min(0))


def sd_capsule_x(x: Tensor, y: Tensor, z: Tensor, half_len, r) -> Tensor:
    """Capsule of radius ``r`` around the segment ``x in [-half_len, half_len]``."""
    return _len3((x.abs() - half_len).clamp_min(0), y, z) - r


def sd_torus(x: Tensor, y: Tensor, z: Tensor, major, minor) -> Tensor:
    """Torus lying in the xz plane: ring radius ``major``, tube radius ``minor``."""
    return _len2(_len2(x, z) - major, y) - minor


def sd_cone(x: Tensor, y: Tensor, z: Tensor, r, h) -> Tensor:
    """Cone with base radius ``r`` at ``y = -h/2`` and apex at ``y = h/2`` (bound)."""
    side = (_len2(x, z) * h + (y - h * 0.5) * r) / _len2(h, r)
    return torch.maximum(side, -h * 0.5 - y)


def sd_pyramid(x: Tensor, y: Tensor, z: Tensor, sides: int, inradius, h) -> Tensor:
    """Regular ``sides``-gon pyramid: base at ``y = -h/2`` with the given inradius, apex at ``y = h/2``."""
    d = -h * 0.5 - y
    slant = _len2(h, inradius)
    for k in range(sides):
        ang = 2.0 * math.pi * k / sides
        along = x * math.cos(ang) + z * math.sin(ang)  # distance along the face's outward direction
        d = torch.maximum(d, (along * h + (y - h * 0.5) * inradius) / slant)
    return d


def sd_hex_prism(x: Tensor, y: Tensor, z: Tensor, apothem, h) -> Tensor:
    """Upright hexagonal prism with the given apothem and half-height ``h`` (bound)."""
    d = y.abs() - h
    for k in range(3):
        ang = math.pi * k / 3.0
        d = torch.maximum(d, (x * math.cos(ang) + z * math.sin(ang)).abs() - apothem)
    return d


def sd_octahedron(x: Tensor, y: Tensor, z: Tensor, a, h) -> Tensor:
    """Octahedron with vertices at ``(±a, 0, 0), (0, ±h, 0), (0, 0, ±a)``."""
    norm = torch.sqrt(2.0 / (a * a) + 1.0 / (h * h))
    return (x.abs() / a + y.abs() / h + z.abs() / a - 1.0) / norm


# ----------------------------------------------------------------------------- composites


def sd_mushroom(x, y, z, stem_r, stem_len, cap_r, cap_k) -> Tensor:
    """Stem cylinder under a dome of radius ``cap_r`` squashed vertically by ``cap_k``; bbox-centred."""
    y0 = y + (stem_len + cap_r * cap_k) * 0.5  # y0 = 0 at the bottom of the stem
    stem = sd_cylinder(x, y0 - stem_len * 0.5, z, stem_r, stem_len * 0.5)
    dome = (_len3(x, (y0 - stem_len) / cap_k, z) - cap_r) * cap_k  # x cap_k keeps it a bound
    return torch.minimum(stem, torch.maximum(dome, stem_len - y0))


def sd_table(x, y, z, w, d, h, top, leg) -> Tensor:
    """Table ``2w x 2d`` wide and ``h`` tall: slab of thickness ``2 top`` on four square legs."""
    slab = sd_box(x, y - (h * 0.5 - top), z, w, top, d, 0.02)
    inset = leg * 1.5
    legs = sd_box(x.abs() - (w - inset), y + top, z.abs() - (d - inset), leg, h * 0.5 - top, leg, 0.01)
    return torch.minimum(slab, legs)


def sd_dumbbell(x, y, z, half_len, ball_r, bar_r) -> Tensor:
    """Two balls of radius ``ball_r`` at ``x = ±half_len`` joined by a bar of radius ``bar_r``."""
    return torch.minimum(sd_sphere(x.abs() - half_len, y, z, ball_r), sd_capsule_x(x, y, z, half_len, bar_r))


def sd_bowl(x, y, z, r, thick, cut, k) -> Tensor:
    """Spherical shell (radius ``r``, half-thickness ``thick``) cut at ``y = cut*r``, opening up,
    squashed vertically by ``k``; bbox-centred."""
    yy = y / k + (cut * r - r - thick) * 0.5
    shell = (_len3(x, yy, z) - r).abs() - thick
    return torch.maximum(shell, yy - cut * r) * k


# ----------------------------------------------------------------------------- categories


class Shape(NamedTuple):
    """One category: ``sdf(x, y, z, p)`` with ``p[i]`` the i-th parameter row, the ``(lo, hi)``
    range each parameter is drawn from, the bounding radius ``radius(p)`` about the origin, a
    fixed tilt (degrees, about x) applied before the random rest orientation, and a size factor
    that evens out how much of the frame solids of different bulk cover."""

    sdf: Callable[..., Tensor]
    ranges: Sequence[tuple[float, float]]
    radius: Callable[[Tensor], Tensor]
    tilt_deg: float = 0.0
    fill: float = 1.0


def _sq(*v):
    return torch.sqrt(sum(a * a for a in v))


SHAPES: dict[str, Shape] = {
    "sphere": Shape(lambda x, y, z, p: sd_sphere(x, y, z, p[0]), [(0.6, 0.9)], lambda p: p[0], fill=0.85),
    "ellipsoid": Shape(
        lambda x, y, z, p: sd_ellipsoid(x, y, z, p[0], p[1], p[2]),
        [(0.85, 1.0), (0.35, 0.55), (0.5, 0.8)],
        lambda p: p[0],
    ),
    "cube": Shape(
        lambda x, y, z, p: sd_box(x, y, z, p[0], p[1], p[2], p[3]),
        [(0.5, 0.6), (0.5, 0.6), (0.5, 0.6), (0.01, 0.07)],
        lambda p: _sq(p[0], p[1], p[2]),
        fill=0.95,
    ),
    "cylinder": Shape(
        lambda x, y, z, p: sd_cylinder(x, y, z, p[0], p[1]), [(0.3, 0.5), (0.7, 1.0)], lambda p: _sq(p[0], p[1])
    ),
    "cone": Shape(
        lambda x, y, z, p: sd_cone(x, y, z, p[0], p[1]), [(0.5, 0.8), (1.2, 1.8)], lambda p: _sq(p[0], p[1] * 0.5),
        fill=1.05,
    ),
    "torus": Shape(
        lambda x, y, z, p: sd_torus(x, y, z, p[0], p[1]),
        [(0.6, 0.75), (0.14, 0.3)],
        lambda p: p[0] + p[1],
        tilt_deg=40.0,
    ),
    "capsule": Shape(
        lambda x, y, z, p: sd_capsule_x(x, y, z, p[0], p[1]),
        [(0.4, 0.6), (0.26, 0.4)],
        lambda p: p[0] + p[1],
    ),
    "pyramid": Shape(
        lambda x, y, z, p: sd_pyramid(x, y, z, 4, p[0], p[1]),
        [(0.55, 0.7), (0.9, 1.4)],
        lambda p: _sq(p[0] * math.sqrt(2.0), p[1] * 0.5),
        fill=1.06,
    ),
    "octahedron": Shape(
        lambda x, y, z, p: sd_octahedron(x, y, z, p[0], p[1]), [(0.5, 0.7), (0.8, 1.0)], lambda p: p[1],
        fill=1.08,
    ),
    "tetrahedron": Shape(
        lambda x, y, z, p: sd_pyramid(x, y, z, 3, p[0], p[1]),
        [(0.38, 0.48), (0.9, 1.3)],
        lambda p: _sq(p[0] * 2.0, p[1] * 0.5),  # base circumradius = 2 x inradius
        fill=1.12,
    ),
    "hexagonal_prism": Shape(
        lambda x, y, z, p: sd_hex_prism(x, y, z, p[0], p[1]),
        [(0.55, 0.75), (0.2, 0.42)],
        lambda p: _sq(p[0] / math.cos(math.pi / 6.0), p[1]),
    ),
    "mushroom": Shape(
        lambda x, y, z, p: sd_mushroom(x, y, z, p[0], p[1], p[2], p[3]),
        [(0.12, 0.22), (0.55, 0.85), (0.55, 0.8), (0.55, 1.0)],
        # dome points lie within cap_r of the dome centre, which sits |stem_len - H/2| from the origin
        lambda p: torch.maximum(
            (p[1] - (p[1] + p[2] * p[3]) * 0.5).abs() + p[2], _sq(p[0], (p[1] + p[2] * p[3]) * 0.5)
        ),
    ),
    "table": Shape(
        lambda x, y, z, p: sd_table(x, y, z, p[0], p[1], p[2], p[3], p[4]),
        [(0.75, 0.95), (0.45, 0.8), (0.7, 1.1), (0.05, 0.09), (0.07, 0.1)],
        lambda p: _sq(p[0], p[1], p[2] * 0.5),
        fill=1.05,
    ),
    "dumbbell": Shape(
        lambda x, y, z, p: sd_dumbbell(x, y, z, p[0], p[1], p[2]),
        [(0.5, 0.7), (0.25, 0.38), (0.07, 0.13)],
        lambda p: p[0] + p[1],
        fill=1.12,
    ),
    "bowl": Shape(
        lambda x, y, z, p: sd_bowl(x, y, z, p[0], p[1], p[2], p[3]),
        [(0.8, 0.95), (0.05, 0.08), (-0.1, 0.3), (0.6, 0.9)],
        lambda p: _sq(p[0] + p[1], p[3] * (p[0] * (1.0 + p[2]) + p[1]) * 0.5),
    ),
}

NUM_SHAPE_PARAMS = max(len(s.ranges) for s in SHAPES.values())
