"""Procedural multi-view 3D shapes: the embedded default dataset (a small stand-in for ShapeNet).

Every object is a parametric solid (see :mod:`hbaezoo.data.shapes_sdf`) with its own proportions,
colour, surface pattern, gloss and rest orientation, drawn from a per-object random stream, and
is rendered from ``views`` cameras circling it. Rendering is pure torch on the CPU: sphere tracing
of signed distance functions, normals from finite differences, Lambert + ambient + Blinn-Phong
lighting with ambient occlusion and soft shadows, 2x supersampling.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from hbaezoo.data.shapes_sdf import NUM_SHAPE_PARAMS, SHAPES
from hbaezoo.scopes import num_threads

CATEGORIES: tuple[str, ...] = tuple(SHAPES)

_SUPERSAMPLE = 2
_CAM_DIST = 4.0
_TAN_HALF_FOV = math.tan(math.asin(1.0 / _CAM_DIST)) / 0.8  # a unit sphere spans 80% of the frame
_MARCH_STEPS = 56
_SHADOW_STEPS = 12
_RAYS_PER_BATCH = 1 << 18  # ~100 MB of working memory; larger batches only thrash the cache
_NUM_UNIFORMS = 32
_BACKGROUND_TOP, _BACKGROUND_BOTTOM = 0.94, 0.80
_FILL_LIGHT = (0.7, -0.1, 0.4)  # camera frame (right, up, towards the camera)


def render_objects(
    objects_per_category: int,
    *,
    views: int = 12,
    resolution: int = 32,
    seed: int = 0,
    batch_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Tensor, Tensor]:
    """Render every object of every category from `views` viewpoints.

    Returns images uint8 [num_objects, views, 3, resolution, resolution] and labels int64 [num_objects]
    (category index into CATEGORIES), objects ordered category-major (all objects of category 0 first).
    The output is a pure function of the arguments other than `batch_size` and `progress`.
    Renders on one CPU thread (torch's setting is restored afterwards): the work is thousands of
    small tensor ops, where OpenMP threads gain < 2x on an idle machine but lose 10-50x when
    another process competes for the cores.
    """
    _check_int("objects_per_category", objects_per_category, 1)
    _check_int("views", views, 1)
    _check_int("resolution", resolution, 8, "(e.g. 16, 32 or 64)")
    _check_int("seed", seed, None)
    if batch_size is not None:
        _check_int("batch_size", batch_size, 1)
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a callable progress(done, total) or None, got {progress!r}")

    n = objects_per_category * len(CATEGORIES)
    labels = torch.arange(len(CATEGORIES)).repeat_interleave(objects_per_category)
    side = resolution * _SUPERSAMPLE
    if batch_size is None:
        batch_size = max(1, _RAYS_PER_BATCH // (views * side * side))
    images = torch.empty(n, views, 3, resolution, resolution, dtype=torch.uint8)
    with num_threads(1):
        _render_all(images, objects_per_category, views, seed, batch_size, progress)
    return images, labels


def _render_all(images: Tensor, per_cat: int, views: int, seed: int, batch_size: int, progress) -> None:
    n, resolution = images.shape[0], images.shape[-1]
    with torch.no_grad():
        scene = _sample_scene(per_cat, views, seed)
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            part = {k: v[start:stop] for k, v in scene.items()}
            hi = _render_batch(part, views, resolution * _SUPERSAMPLE)  # [b*views, 3, side, side] in [0, 1]
            lo = F.avg_pool2d(hi, _SUPERSAMPLE)
            lo = (lo * 255.0).round().clamp(0, 255).to(torch.uint8)
            images[start:stop] = lo.view(stop - start, views, 3, resolution, resolution)
            if progress is not None:
                progress(stop, n)


def _check_int(name: str, value, minimum: int | None, hint: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum} {hint}".rstrip() + f", got {value}")


# ----------------------------------------------------------------------------- scene sampling


def _object_uniforms(seed: int, category: int, index: int, gen: torch.Generator) -> Tensor:
    """[_NUM_UNIFORMS] uniforms owned by one object, so it never depends on the batch or on the
    number of objects (splitmix64 decorrelates neighbouring seeds)."""
    mask = (1 << 64) - 1
    v = (seed * 0x9E3779B97F4A7C15 + category * 0xBF58476D1CE4E5B9 + index * 0x94D049BB133111EB) & mask
    v = ((v ^ (v >> 30)) * 0xBF58476D1CE4E5B9) & mask
    v = ((v ^ (v >> 27)) * 0x94D049BB133111EB) & mask
    gen.manual_seed((v ^ (v >> 31)) >> 1)
    return torch.rand(_NUM_UNIFORMS, generator=gen)


def _hsv_to_rgb(h: Tensor, s: Tensor, v: Tensor) -> Tensor:
    """[n] hue/saturation/value in [0, 1] -> [n, 3] rgb."""
    k = torch.stack([(5.0 + 6.0 * h) % 6.0, (3.0 + 6.0 * h) % 6.0, (1.0 + 6.0 * h) % 6.0], 1)
    return v[:, None] - (v * s)[:, None] * torch.minimum(k, 4.0 - k).clamp(0, 1)


def _rotation(axis: str, angle: Tensor) -> Tensor:
    """[n] angles -> [n, 3, 3] rotations about a coordinate axis."""
    c, s, o, i = angle.cos(), angle.sin(), torch.zeros_like(angle), torch.ones_like(angle)
    rows = {
        "x": [[i, o, o], [o, c, -s], [o, s, c]],
        "y": [[c, o, s], [o, i, o], [-s, o, c]],
        "z": [[c, -s, o], [s, c, o], [o, o, i]],
    }[axis]
    return torch.stack([torch.stack(r, -1) for r in rows], -2)


def _sample_scene(per_cat: int, views: int, seed: int) -> dict[str, Tensor]:
    """Per-object tables (leading dim = object) for the whole dataset: shape, look and cameras
    expressed in each object's own frame, where the SDF is evaluated.

    Uniforms of an object: 0-7 shape, 8 size, 9-11 rest orientation, 12 azimuth offset,
    13-17 colours, 18-25 pattern, 26-27 gloss, 28-29 key light wander.
    """
    gen = torch.Generator().manual_seed(0)
    u = torch.stack([_object_uniforms(seed, c, j, gen) for c in range(len(CATEGORIES)) for j in range(per_cat)])
    cat = torch.arange(len(CATEGORIES)).repeat_interleave(per_cat)
    n = u.shape[0]

    params = torch.ones(n, NUM_SHAPE_PARAMS)
    radius, tilt, fill = torch.empty(n), torch.empty(n), torch.empty(n)
    for c, shape in enumerate(SHAPES.values()):
        rows = cat == c
        for k, (lo, hi) in enumerate(shape.ranges):
            params[rows, k] = lo + (hi - lo) * u[rows, k]
        radius[rows] = shape.radius(params[rows].T)
        tilt[rows], fill[rows] = math.radians(shape.tilt_deg), shape.fill
    # world units per object unit: the bounding radius becomes 0.86-0.98 x fill world units
    scale = (0.86 + 0.12 * u[:, 8]) * fill / radius

    # rest orientation: category tilt, random yaw, then a small random tilt about a horizontal axis
    rot = _rotation("y", u[:, 9] * 2 * math.pi) @ _rotation("x", tilt)
    tilt_axis = u[:, 10] * 2 * math.pi
    rot = _rotation("y", tilt_axis) @ _rotation("x", u[:, 11] * math.radians(14)) @ _rotation("y", -tilt_axis) @ rot

    # cameras: evenly spaced azimuths with a random offset, elevations alternating 10 / 35 degrees
    azim = u[:, 12:13] * 2 * math.pi + torch.arange(views) * (2 * math.pi / views)
    elev = torch.deg2rad(10.0 + 25.0 * (torch.arange(views) % 2).float()).expand(n, views)
    ca, sa, ce, se = azim.cos(), azim.sin(), elev.cos(), elev.sin()
    back = torch.stack([ce * sa, se, ce * ca], -1)  # unit vector from the object to the camera
    right = torch.stack([ca, torch.zeros_like(ca), -sa], -1)
    up = torch.stack([-se * sa, ce, -se * ca], -1)

    def to_obj(v: Tensor) -> Tensor:  # world direction [n, views, 3] -> object frame
        return torch.einsum("nji,nvj->nvi", rot, v)

    def cam_dir(rgt, upw, bck) -> Tensor:  # camera-frame direction (right, up, back) -> object frame
        d = rgt * right + upw * up + bck * back
        return to_obj(d / d.norm(dim=-1, keepdim=True))

    # key light from the upper left, wandering a little from view to view so that even the
    # views of a plain sphere differ
    v = torch.arange(views)
    light_az = torch.deg2rad(-40.0 + 25.0 * torch.sin(2.3 * v + 2 * math.pi * u[:, 28:29]))[..., None]
    light_el = torch.deg2rad(40.0 + 12.0 * torch.cos(1.7 * v + 2 * math.pi * u[:, 29:30]))[..., None]
    key = cam_dir(light_az.sin() * light_el.cos(), light_el.sin(), light_az.cos() * light_el.cos())
    half = key + to_obj(back)
    base = _hsv_to_rgb(u[:, 13], 0.5 + 0.45 * u[:, 14], 0.6 + 0.35 * u[:, 15])
    # second pattern colour: either a shifted hue or a pale tint of the base colour
    shifted = _hsv_to_rgb((u[:, 13] + 0.25 + 0.5 * u[:, 17]) % 1.0, 0.5 + 0.45 * u[:, 14], 0.6 + 0.35 * u[:, 15])
    pale = _hsv_to_rgb(u[:, 13], 0.15 * u[:, 14], torch.full_like(u[:, 15], 0.97))
    second = torch.where(u[:, 16:17] < 0.5, shifted, pale)
    return {
        "cat": cat,
        "params": params,
        "radius": radius,
        "origin": to_obj(back) * (_CAM_DIST / scale[:, None, None]),
        "forward": -to_obj(back),
        "right": to_obj(right),
        "up": to_obj(up),
        "key": key,
        "fill": cam_dir(*_FILL_LIGHT),
        "half": half / half.norm(dim=-1, keepdim=True),
        "sky": rot[:, 1, :],  # world up in the object frame
        "bound": radius * 1.01,  # rays that miss this sphere miss the object
        "colors": torch.stack([base, second], 1),
        "pattern": (u[:, 18] * 4).floor(),  # 0 plain, 1 stripes, 2 checker, 3 dots
        "freq": (1.6 + 1.2 * u[:, 19]) / radius,
        "stripe_axis": F.normalize(u[:, 20:23] - 0.5, dim=1) * torch.tensor([0.3, 1.0, 0.3]),
        "phase": u[:, 23:26] * 4.0,
        "shininess_log2": 3.0 + (u[:, 26] * 4).floor(),  # 8, 16, 32 or 64
        "gloss": 0.1 + 0.5 * u[:, 27],
    }


# ----------------------------------------------------------------------------- rendering


def _eval_sdf(x: Tensor, y: Tensor, z: Tensor, cat: Tensor, params: Tensor) -> Tensor:
    """Distance at [n] points whose categories `cat` are sorted (one contiguous run per
    category); `params` is [NUM_SHAPE_PARAMS, n]."""
    out = torch.empty_like(x)
    counts = torch.bincount(cat, minlength=len(CATEGORIES)).tolist()
    start = 0
    for c, count in enumerate(counts):
        if count:
            s = slice(start, start + count)
            out[s] = SHAPES[CATEGORIES[c]].sdf(x[s], y[s], z[s], params[:, s])
            start += count
    return out


def _render_batch(scene: dict[str, Tensor], views: int, side: int) -> Tensor:
    """[b*views, 3, side, side] float images of the objects in `scene`."""
    b = scene["cat"].shape[0]
    flat = lambda v: v.reshape(b * views, 3, 1)  # per-image vector, broadcast over pixels
    coords = (torch.arange(side, dtype=torch.float32) + 0.5) / side * 2.0 - 1.0
    px, py = coords.repeat(side) * _TAN_HALF_FOV, -coords.repeat_interleave(side) * _TAN_HALF_FOV
    dirs = flat(scene["forward"]) + flat(scene["right"]) * px + flat(scene["up"]) * py  # [img, 3, pix]
    dirs = dirs / torch.sqrt((dirs * dirs).sum(1, keepdim=True))
    origin = flat(scene["origin"])
    # rays that miss the bounding sphere are background and never marched
    bound = scene["bound"].repeat_interleave(views)[:, None]
    b_half = (origin * dirs).sum(1)
    disc = b_half * b_half - ((origin * origin).sum(1) - bound * bound)
    ray = torch.nonzero(disc.flatten() > 0).squeeze(1)  # flat (image, pixel) index, image-major
    img, pix = ray // (side * side), ray % (side * side)
    obj = img // views
    root = torch.sqrt(disc.flatten()[ray])
    o = origin[img, :, 0].T.contiguous()  # [3, rays]
    d = dirs[img, :, pix].T.contiguous()
    t0 = (-b_half.flatten()[ray] - root).clamp_min(0)
    t1 = -b_half.flatten()[ray] + root
    cat, params = scene["cat"][obj], scene["params"][obj].T.contiguous()
    eps = 0.2 * 2.0 * _TAN_HALF_FOV / side  # hit tolerance, as a fraction of the pixel footprint

    t, hit = _march(o, d, t0, t1, cat, params, eps)
    canvas = torch.linspace(_BACKGROUND_TOP, _BACKGROUND_BOTTOM, side).repeat_interleave(side)
    canvas = canvas.expand(3, b * views, side * side).contiguous()
    sel = torch.nonzero(hit).squeeze(1)
    if sel.numel():
        p = o[:, sel] + t[sel] * d[:, sel]
        color = _shade(p, scene, obj[sel], (img % views)[sel], cat[sel], params[:, sel])
        canvas[:, img[sel], pix[sel]] = color
    return canvas.view(3, b * views, side, side).transpose(0, 1)


def _march(
    o: Tensor, d: Tensor, t: Tensor, t_max: Tensor, cat: Tensor, params: Tensor, eps: float
) -> tuple[Tensor, Tensor]:
    """Sphere tracing of [rays]; returns the final ray parameter and whether the surface was hit.
    Finished rays are dropped from the working set whenever it shrinks by a quarter."""
    t_out, hit_out = t.clone(), torch.zeros_like(t, dtype=torch.bool)
    live = torch.arange(t.shape[0])
    t = t.clone()
    active = torch.ones_like(hit_out)
    hit = torch.zeros_like(hit_out)
    for step in range(_MARCH_STEPS):
        p = o + t * d
        dist = _eval_sdf(p[0], p[1], p[2], cat, params)
        near = dist < eps * t
        if step == _MARCH_STEPS - 1:  # out of steps: grazing rays close to the surface count as hits
            near = dist < 4.0 * eps * t
        hit |= active & near
        active &= ~near
        t = torch.where(active, t + dist, t)
        active &= t < t_max
        n_active = int(active.sum())
        if n_active == 0:
            break
        if n_active < 0.75 * live.shape[0]:
            t_out[live], hit_out[live] = t, hit
            keep = torch.nonzero(active).squeeze(1)
            live, o, d, t, t_max = live[keep], o[:, keep], d[:, keep], t[keep], t_max[keep]
            cat, params = cat[keep], params[:, keep]
            active, hit = active[keep], hit[keep]
    t_out[live], hit_out[live] = t, hit
    return t_out, hit_out


def _shade(p: Tensor, scene: dict[str, Tensor], obj: Tensor, view: Tensor, cat: Tensor, params: Tensor) -> Tensor:
    """[3, n] colours of surface points p [3, n] (object frame)."""
    n = p.shape[1]
    rad = scene["radius"][obj]
    per_img = lambda key: scene[key][obj, view].T  # [3, n]

    # normal: tetrahedral finite differences, 4 evaluations per point done in one call
    tet = torch.tensor([[1.0, -1.0, -1.0, 1.0], [-1.0, -1.0, 1.0, 1.0], [-1.0, 1.0, -1.0, 1.0]])
    h = 1e-3 * rad
    q = (p[:, :, None] + tet[:, None, :] * h[None, :, None]).reshape(3, -1)
    f = _eval_sdf(q[0], q[1], q[2], cat.repeat_interleave(4), params.repeat_interleave(4, 1)).view(n, 4)
    nrm = (tet[:, None, :] * f[None]).sum(2)
    nrm = nrm / torch.sqrt((nrm * nrm).sum(0)).clamp_min(1e-12)

    # ambient occlusion: how much closer than expected the surface is along the normal
    steps = torch.tensor([0.06, 0.14, 0.28])
    hs = steps[None, :] * rad[:, None]  # [n, 3]
    q = (p[:, :, None] + nrm[:, :, None] * hs[None]).reshape(3, -1)
    f = _eval_sdf(q[0], q[1], q[2], cat.repeat_interleave(3), params.repeat_interleave(3, 1)).view(n, 3)
    ao = (1.0 - 0.9 * ((hs - f) / hs).clamp_min(0).mean(1)).clamp(0, 1)

    key = per_img("key")
    shadow = _soft_shadow(p + nrm * (0.01 * rad), key, rad, cat, params)
    lambert = (nrm * key).sum(0).clamp_min(0)
    fill = (nrm * per_img("fill")).sum(0).clamp_min(0)
    sky = (nrm * scene["sky"][obj].T).sum(0)
    spec = (nrm * per_img("half")).sum(0).clamp_min(0)
    for i in range(6):  # spec ** 2**k by repeated squaring: exact, unlike pow
        spec = torch.where(i < scene["shininess_log2"][obj], spec * spec, spec)
    spec = spec * scene["gloss"][obj] * shadow * (lambert > 0)

    albedo = _albedo(p, scene, obj)
    light = 0.75 * lambert * shadow + (0.22 + 0.1 * sky) * ao + 0.18 * fill * ao
    return (albedo * light + spec).clamp(0, 1)


def _soft_shadow(p: Tensor, light: Tensor, rad: Tensor, cat: Tensor, params: Tensor) -> Tensor:
    """Penumbra factor in [0, 1] toward the key light (Quilez's min(k h / t) estimate)."""
    t = 0.02 * rad
    res = torch.ones_like(t)
    for _ in range(_SHADOW_STEPS):
        q = p + light * t
        h = _eval_sdf(q[0], q[1], q[2], cat, params)
        res = torch.minimum(res, 8.0 * h / t)
        t = t + torch.minimum(torch.maximum(h, 0.03 * rad), 0.3 * rad)
    return res.clamp(0, 1)


def _albedo(p: Tensor, scene: dict[str, Tensor], obj: Tensor) -> Tensor:
    """[3, n] surface colour from an object-space pattern, so it turns with the object."""
    q = p * scene["freq"][obj] + scene["phase"][obj].T
    pattern = scene["pattern"][obj]
    along = (q * scene["stripe_axis"][obj].T).sum(0)
    stripes = (along - along.floor()) < 0.5
    checker = ((q.floor().sum(0)) % 2.0) < 0.5
    cell = q - q.floor() - 0.5
    dots = (cell * cell).sum(0) < 0.09
    second = torch.where(pattern == 1, stripes, torch.where(pattern == 2, checker, (pattern == 3) & dots))
    colors = scene["colors"][obj]  # [n, 2, 3]
    return torch.where(second[:, None], colors[:, 1], colors[:, 0]).T
