"""Shape families: for each category several ways to draw it (poses, body styles).

``FAMILIES[category][family](sketch, rng)`` fills a :class:`~tdm.data.shapes.Sketch` in
world units (the object faces right, y down), with random proportions inside the family.
Which family belongs to which split is fixed in ``tdm.data.splits``: held-out families
are other silhouettes of the same categories.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .shapes import (ACCENT, CENTRE, DARK, GLASS, GREEN, HAIR, LIGHT, MAIN, METAL, SHADE, SKIN,
                     TRUNK, Sketch)

Draw = Callable[[Sketch, np.random.Generator], None]


def _at(p, length: float, angle: float) -> np.ndarray:
    """The point ``length`` from ``p`` at ``angle`` degrees from straight down (+ forward)."""
    a = np.radians(angle)
    return np.asarray(p, np.float32) + length * np.array([np.sin(a), np.cos(a)], np.float32)


def _rot(p, tilt: float) -> np.ndarray:
    """Rotate a body point by ``tilt`` degrees (front up for tilt > 0)."""
    t = np.radians(tilt)
    x, y = p
    return np.array([x * np.cos(t) + y * np.sin(t), -x * np.sin(t) + y * np.cos(t)], np.float32)


def _j(rng, v: float, rel: float = 0.1) -> float:
    return float(v * (1 + rng.uniform(-rel, rel)))


def _curve(p0, p1, p2, n: int = 8) -> np.ndarray:
    """(n, 2, 2) strokes along the quadratic Bezier curve p0 -> p2 pulled towards p1."""
    t = np.linspace(0, 1, n + 1, dtype=np.float32)[:, None]
    p0, p1, p2 = (np.asarray(p, np.float32) for p in (p0, p1, p2))
    pts = (1 - t) ** 2 * p0 + 2 * t * (1 - t) * p1 + t ** 2 * p2
    return np.stack([pts[:-1], pts[1:]], 1)


# ---- four-legged animals -------------------------------------------------------------------
QUADRUPEDS = {  # leg length, body half height, neck length, head radius, snout, ears, tail, fur
    "zebra": dict(leg=0.62, body=0.2, neck=0.44, head=0.1, snout=0.2, ears="point", tail="tuft", fur=None),
    "horse": dict(leg=0.68, body=0.21, neck=0.48, head=0.1, snout=0.22, ears="point", tail="long", fur=(0.012, 0.15)),
    "dog": dict(leg=0.46, body=0.18, neck=0.24, head=0.13, snout=0.13, ears="flop", tail="up", fur=(0.035, 0.35)),
    "cat": dict(leg=0.38, body=0.16, neck=0.12, head=0.13, snout=0.05, ears="point", tail="curl", fur=(0.03, 0.3)),
    "sheep": dict(leg=0.5, body=0.25, neck=0.14, head=0.11, snout=0.1, ears="side", tail="short", fur=(0.03, 0.6)),
}
# pose -> (leg angles and knee bends: front near, front far, back near, back far), neck angle
# above horizontal, snout angle, body tilt
POSES = {
    "standing": (((4, 0), (-4, 0), (-4, 6), (5, 4)), 50, -60, 0),
    "walking": (((24, -20), (-14, -6), (-22, 24), (14, 8)), 45, -55, 0),
    "galloping": (((62, -50), (38, -70), (-58, 10), (-30, 30)), 22, -30, 6),
    "grazing": (((6, 0), (-6, 0), (-3, 6), (4, 4)), -55, -100, -3),
    "lying": (((82, -160), (78, -150), (80, -165), (84, -160)), 40, -50, 0),
    "sitting": (((2, 0), (-6, 0), (86, -170), (82, -165)), 55, -30, 32),
}


def _quadruped(kind: str, pose: str) -> Draw:
    def draw(sk: Sketch, rng: np.random.Generator) -> None:
        p = QUADRUPEDS[kind]
        legs, neck_angle, snout_angle, tilt = POSES[pose]
        bh, leg, head = _j(rng, p["body"]), _j(rng, p["leg"]), _j(rng, p["head"])
        tilt += rng.uniform(-3, 3)
        seg = leg / 2
        # legs behind the body first: far pair shaded
        anchors = [(0.33, 0.4), (0.27, 0.35), (-0.33, 0.4), (-0.39, 0.35)]
        order = (1, 3, 0, 2)
        for i in order:
            a, bend = legs[i]
            a, bend = a + rng.uniform(-6, 6), bend + rng.uniform(-8, 8)
            top = _rot((anchors[i][0], anchors[i][1] * bh), tilt)
            knee = _at(top, seg, a)
            foot = _at(knee, seg * (0.95 if i < 2 else 1.0), a + bend)
            part = DARK if kind == "sheep" else SHADE if i in (1, 3) else MAIN
            sk.capsule(top, knee, 0.06 * (1 + bh), 0.038, part)
            sk.capsule(knee, foot, 0.036, 0.03, part)
            sk.ellipse(foot + np.array([0.015, 0]), 0.035, 0.022, 0, DARK if kind in ("zebra", "horse") else part)
        if p["tail"] == "long":
            base = _rot((-0.48, -0.3 * bh), tilt)
            sk.capsule(base, base + np.array([-0.12, 0.2]), 0.05, 0.06, HAIR)
            sk.capsule(base + np.array([-0.12, 0.2]), base + np.array([-0.1, 0.5]), 0.06, 0.02, HAIR)
        # body: barrel, chest and rump
        sk.ellipse((0, 0), 0.48, bh, -tilt, MAIN)
        sk.circle(_rot((0.3, 0.0), tilt), bh * 1.05, MAIN)
        sk.circle(_rot((-0.32, -0.02), tilt), bh * 1.0, MAIN)
        if kind == "sheep":  # wool: a bumpy outline of small circles
            for t in np.linspace(0, 2 * np.pi, int(rng.integers(14, 22)), endpoint=False):
                c = _rot((0.45 * np.cos(t), bh * 0.95 * np.sin(t)), tilt)
                sk.circle(c, bh * rng.uniform(0.28, 0.4), MAIN)
        if pose == "sitting":
            sk.ellipse(_rot((-0.4, 0.05), tilt) + np.array([0, 0.05]), 0.2, bh * 1.1, -tilt, MAIN)
        # neck, head, snout, ears
        base = _rot((0.36, -0.35 * bh), tilt)
        na = np.radians(neck_angle + rng.uniform(-8, 8))
        end = base + _j(rng, p["neck"]) * np.array([np.cos(na), -np.sin(na)], np.float32)
        sk.capsule(base, end, bh * 0.62, head * 0.85, MAIN)
        if kind in ("zebra", "horse"):  # mane along the top of the neck
            off = np.array([-np.sin(na), -np.cos(na)], np.float32) * bh * 0.45
            sk.capsule(base + off, end + off * 0.5, 0.04, 0.03, HAIR if kind == "horse" else DARK)
        sk.circle(end, head, MAIN)
        sa = np.radians(snout_angle + rng.uniform(-10, 10))
        tip = end + _j(rng, p["snout"]) * np.array([np.cos(sa), -np.sin(sa)], np.float32)
        sk.capsule(end, tip, head * 0.8, head * 0.5, MAIN)
        sk.circle(tip, head * 0.32, DARK)
        up = np.array([np.cos(na + 1.2), -np.sin(na + 1.2)], np.float32)
        if p["ears"] == "point":
            e = end + up * head * 0.7
            sk.poly([e - np.array([head * 0.45, 0]), e + up * head * 1.3, e + np.array([head * 0.45, 0])], MAIN)
        elif p["ears"] == "flop":
            sk.ellipse(end + np.array([-head * 0.5, head * 0.3]), head * 0.3, head * 0.75, 15, SHADE)
        else:
            sk.ellipse(end + np.array([-head * 0.6, -head * 0.2]), head * 0.55, head * 0.22, -20, SHADE)
        # tails drawn in front
        base = _rot((-0.5, -0.35 * bh), tilt)
        if p["tail"] == "tuft":
            tip = base + np.array([-0.08, 0.42])
            sk.capsule(base, tip, 0.018, 0.012, MAIN)
            sk.ellipse(tip, 0.03, 0.07, 10, DARK)
        elif p["tail"] == "up":
            sk.capsule(base, base + np.array([-0.16, -0.2 - 0.1 * rng.random()]), 0.035, 0.02, MAIN)
        elif p["tail"] == "curl":
            mid = base + np.array([-0.2, 0.05])
            sk.capsule(base, mid, 0.03, 0.026, MAIN)
            sk.capsule(mid, mid + np.array([-0.05, -0.3]), 0.026, 0.02, MAIN)
        elif p["tail"] == "short":
            sk.circle(base, 0.05, MAIN)
        if p["fur"]:
            sk.fur = (p["fur"][0], p["fur"][1], None)
    return draw


# ---- people --------------------------------------------------------------------------------
PERSON_POSES = {  # (arm angle out, elbow bend) left/right, (leg angle out, knee bend) left/right
    "standing": (((10, 6), (12, 6)), ((4, 0), (4, 0))),
    "walking": (((22, 18), (6, -10)), ((16, 10), (-6, 0))),
    "waving": (((12, 6), (155, -45)), ((5, 0), (4, 0))),
    "arms_up": (((160, -15), (162, -15)), ((8, 0), (8, 0))),
    "running": (((45, -95), (-30, -90)), ((40, -80), (-20, -40))),
}


def _limb(sk: Sketch, rng: np.random.Generator, root: np.ndarray, side: int, angle: float,
          bend: float, jitter: tuple[float, float], lengths: tuple[float, float],
          widths: tuple[float, float, float], colours: tuple) -> np.ndarray:
    """Two capsules from ``root`` (upper, then lower limb bent by ``bend`` degrees, both
    angles jittered); returns the end point (a foot or a hand)."""
    angle, bend = angle + rng.uniform(-jitter[0], jitter[0]), bend + rng.uniform(-jitter[1], jitter[1])
    joint = _at(root, lengths[0], side * angle)
    end = _at(joint, lengths[1], side * (angle + bend))
    sk.capsule(root, joint, widths[0], widths[1], colours[0])
    sk.capsule(joint, end, widths[1], widths[2], colours[1])
    return end


def _person(pose: str) -> Draw:
    def draw(sk: Sketch, rng: np.random.Generator) -> None:
        arms, legs = PERSON_POSES[pose]
        sw, hw = _j(rng, 0.115), _j(rng, 0.08)
        long_hair = rng.random() < 0.35
        if long_hair:
            sk.ellipse((0, 0.13), 0.08, 0.11, 0, HAIR)
        for side, (a, bend) in zip((-1, 1), legs):
            hip = np.array([side * hw * 0.55, 0.5], np.float32)
            foot = _limb(sk, rng, hip, side, a, bend, (5, 8), (0.25, 0.25), (0.05, 0.042, 0.032),
                         (ACCENT, ACCENT))
            sk.ellipse(foot + np.array([side * 0.02, 0.01]), 0.045, 0.02, 0, DARK)
        sk.poly([(-sw, 0.17), (sw, 0.17), (hw + 0.01, 0.53), (-hw - 0.01, 0.53)], MAIN)
        if rng.random() < 0.25:  # skirt or long coat
            sk.poly([(-hw - 0.01, 0.48), (hw + 0.01, 0.48), (hw + 0.08, 0.72), (-hw - 0.08, 0.72)], MAIN)
        sleeve = SKIN if rng.random() < 0.4 else MAIN
        for side, (a, bend) in zip((-1, 1), arms):
            shoulder = np.array([side * sw * 0.85, 0.2], np.float32)
            hand = _limb(sk, rng, shoulder, side, a, bend, (6, 10), (0.16, 0.15), (0.036, 0.031, 0.026),
                         (MAIN, sleeve))
            sk.circle(hand, 0.03, SKIN)
        sk.capsule((0, 0.12), (0, 0.18), 0.028, 0.03, SKIN)
        sk.circle((0, 0.075), 0.062, SKIN)
        sk.ellipse((0, 0.05), 0.066, 0.045, 0, HAIR)
        sk.fur = (0.03 if long_hair else 0.018, 0.9, {HAIR})
    return draw


# ---- vehicles ------------------------------------------------------------------------------
def _wheels(sk: Sketch, xs, r: float) -> None:
    for x in xs:
        sk.circle((x, -r), r, DARK)
        sk.circle((x, -r), r * 0.5, METAL)


def _windows(sk: Sketch, pts, rng) -> None:
    """A see-through window: the polygon shrunk towards its centre."""
    pts = np.asarray(pts, np.float32)
    c = pts.mean(0)
    sk.poly(c + (pts - c) * 0.82, GLASS)
    sk.opacity[GLASS] = float(rng.uniform(0.45, 0.75))


def _car(style: str) -> Draw:
    def draw(sk: Sketch, rng: np.random.Generator) -> None:
        r = _j(rng, 0.1)
        hgt = _j(rng, 1.0, 0.12)
        s = np.array([1.0, hgt], np.float32)
        if style == "sedan":
            body = [(0, -0.1), (0.02, -0.27), (0.3, -0.3), (0.72, -0.31), (0.98, -0.25), (1, -0.1),
                    (0.95, -0.06), (0.05, -0.06)]
            cab = [(0.27, -0.29), (0.38, -0.45), (0.67, -0.46), (0.8, -0.3)]
            wx = (0.19, 0.8)
        elif style == "hatchback":
            body = [(0, -0.1), (0, -0.3), (0.68, -0.31), (0.88, -0.26), (0.9, -0.1), (0.86, -0.06), (0.04, -0.06)]
            cab = [(0.02, -0.3), (0.08, -0.48), (0.52, -0.49), (0.7, -0.3)]
            wx = (0.17, 0.72)
        elif style == "coupe":  # low, long bonnet, fastback roof sloping to a short tail
            body = [(0, -0.09), (0, -0.22), (0.06, -0.25), (0.62, -0.27), (0.96, -0.21), (1, -0.09),
                    (0.95, -0.05), (0.05, -0.05)]
            cab = [(0.08, -0.24), (0.36, -0.39), (0.54, -0.39), (0.7, -0.26)]
            wx = (0.19, 0.8)
            sk.poly([(0.0, -0.22), (0.0, -0.3), (0.12, -0.3), (0.12, -0.27), (0.06, -0.23)], DARK)  # spoiler
        elif style == "van":
            body = [(0, -0.06), (0, -0.6), (0.62, -0.62), (0.84, -0.38), (1, -0.32), (1, -0.06)]
            cab = [(0.05, -0.38), (0.05, -0.56), (0.6, -0.57), (0.8, -0.38)]
            wx = (0.18, 0.82)
        else:  # pickup
            body = [(0, -0.08), (0, -0.33), (0.5, -0.32), (0.53, -0.5), (0.76, -0.5), (0.86, -0.32), (1, -0.3), (1, -0.08)]
            cab = [(0.55, -0.33), (0.57, -0.47), (0.74, -0.47), (0.82, -0.33)]
            wx = (0.17, 0.8)
            sk.lines([((0.0, -0.33), (0.5, -0.33))], 0.02, SHADE)
        sk.poly(np.asarray(body) * s, MAIN)
        sk.poly(np.asarray(cab) * s + np.array([0, 0.01]), MAIN)
        _windows(sk, np.asarray(cab) * s, rng)
        sk.ellipse((0.97, -0.2 * hgt), 0.03, 0.02, 0, LIGHT)
        _wheels(sk, wx, r)
    return draw


def _bus(style: str) -> Draw:
    def draw(sk: Sketch, rng: np.random.Generator) -> None:
        r = _j(rng, 0.06)
        top = {"city": 0.36, "double_decker": 0.62, "minibus": 0.4, "coach": 0.44,
               "articulated": 0.36}[style] * _j(rng, 1.0)
        if style in ("coach", "articulated"):
            _long_bus(sk, rng, style, r, top)
            return
        length = 0.62 if style == "minibus" else 1.0
        if style == "minibus":
            sk.poly([(0, -0.05), (0, -top), (0.42, -top), (0.58, -0.28), (0.62, -0.05)], MAIN)
        else:
            sk.poly([(0, -0.04), (0, -top), (0.97, -top), (1, -top + 0.04), (1, -0.04)], MAIN)
        rows = [top - 0.05] if style != "double_decker" else [top - 0.05, top * 0.5 - 0.02]
        n = int(rng.integers(4, 8)) if style != "minibus" else 3
        for y in rows:
            for k in range(n):
                x0 = 0.04 + k * (length * 0.85 / n)
                _windows(sk, [(x0, -y), (x0 + length * 0.8 / n, -y), (x0 + length * 0.8 / n, -y + 0.1), (x0, -y + 0.1)], rng)
        sk.lines([((0.0, -0.14), (length, -0.14))], 0.015, ACCENT)
        _wheels(sk, (0.14 * length, 0.82 * length), r)
    return draw


def _long_bus(sk: Sketch, rng: np.random.Generator, style: str, r: float, top: float) -> None:
    """A coach (tall, one band of long windows, raked windscreen, luggage doors, three
    axles) or an articulated bus (two city-bus sections joined by a dark bellows)."""
    if style == "coach":
        sk.poly([(0, -0.05), (0, -top + 0.03), (0.03, -top), (0.9, -top), (0.98, -top + 0.12), (1, -0.1),
                 (1, -0.05)], MAIN)
        n = int(rng.integers(5, 8))
        step = 0.84 / n
        for k in range(n):
            x0 = 0.04 + k * step
            _windows(sk, [(x0, -top + 0.04), (x0 + step, -top + 0.04), (x0 + step, -top + 0.2), (x0, -top + 0.2)], rng)
        _windows(sk, [(0.9, -top + 0.02), (0.985, -top + 0.13), (0.995, -top + 0.24), (0.9, -top + 0.24)], rng)
        sk.lines([((0.0, -top + 0.24), (1.0, -top + 0.24))], 0.018, ACCENT)
        sk.lines([((x, -0.08), (x, -0.18)) for x in np.linspace(0.38, 0.68, int(rng.integers(3, 5)))], 0.008, SHADE)
        sk.ellipse((0.985, -0.09), 0.02, 0.015, 0, LIGHT)
        _wheels(sk, (0.16, 0.28, 0.83), r)
        return
    front, joint = 1.6, 0.95  # articulated: trailer 0..joint, front section joint+0.1..front
    for x0, x1 in ((0.0, joint), (joint + 0.1, front)):
        sk.poly([(x0, -0.04), (x0, -top), (x1 - 0.02, -top), (x1, -top + 0.04), (x1, -0.04)], MAIN)
        n = int(rng.integers(3, 5))
        for k in range(n):
            a = x0 + 0.04 + k * ((x1 - x0 - 0.06) / n)
            b = a + (x1 - x0 - 0.06) / n * 0.9
            _windows(sk, [(a, -top + 0.05), (b, -top + 0.05), (b, -top + 0.15), (a, -top + 0.15)], rng)
    sk.poly([(joint - 0.01, -0.06), (joint - 0.01, -top + 0.03), (joint + 0.11, -top + 0.03), (joint + 0.11, -0.06)], DARK)
    sk.lines([((x, -top + 0.05), (x, -0.08)) for x in np.linspace(joint + 0.01, joint + 0.09, 4)], 0.01, SHADE)
    sk.lines([((0.0, -0.14), (joint, -0.14)), ((joint + 0.1, -0.14), (front, -0.14))], 0.015, ACCENT)
    sk.ellipse((front - 0.01, -0.09), 0.02, 0.015, 0, LIGHT)
    _wheels(sk, (0.2, joint + 0.22, front - 0.16), r)


def _bicycle(style: str) -> Draw:
    def draw(sk: Sketch, rng: np.random.Generator) -> None:
        R = _j(rng, 0.2)
        if style in ("bmx", "cruiser"):
            _bmx(sk, rng, R * 0.72) if style == "bmx" else _cruiser(sk, rng, R * 1.05)
            return
        rear, front = np.array([0.2, -R]), np.array([0.85 if style != "tandem" else 1.45, -R])
        bb = np.array([0.48, -0.18])
        seat, head_top, head_bot = np.array([0.4, -0.58]), front + np.array([-0.07, -0.4]), front + np.array([-0.05, -0.3])
        tubes = [(bb, seat), (bb, rear), (seat, rear), (head_bot, front), (head_top, head_bot)]
        if style == "diamond":
            tubes += [(seat, head_top), (bb, head_bot)]
        elif style == "step_through":
            low = bb + np.array([0.12, -0.12])
            tubes += [(bb, low), (low, head_bot)]
        else:  # tandem: a second seat and bracket in the middle
            seat2, bb2 = np.array([0.95, -0.58]), np.array([1.02, -0.18])
            tubes += [(seat, head_top), (bb, bb2), (bb2, seat2), (seat2, head_bot), (bb2, head_bot)]
            sk.ellipse(seat2 + np.array([0, -0.03]), 0.06, 0.02, 0, DARK)
        spokes = []
        for c in (rear, front):
            sk.ring(c, R, 0.035, DARK)
            for t in np.linspace(0, np.pi, int(rng.integers(8, 14)), endpoint=False) + rng.uniform(0, 1):
                d = np.array([np.cos(t), np.sin(t)]) * R
                spokes.append((c - d, c + d))
        sk.lines(spokes, 0.006, METAL)
        sk.lines(tubes, 0.03, MAIN)
        sk.ellipse(seat + np.array([0, -0.03]), 0.06, 0.02, 0, DARK)
        sk.lines([(head_top, head_top + np.array([-0.08, -0.06]))], 0.025, DARK)
        sk.opacity[METAL] = float(rng.uniform(0.7, 0.95))
    return draw


def _wheel_pair(sk: Sketch, rng: np.random.Generator, centres, R: float, tyre: float) -> None:
    """Two tyres with see-through spokes (the bicycle's wheels)."""
    spokes = []
    for c in centres:
        sk.ring(c, R, tyre, DARK)
        for t in np.linspace(0, np.pi, int(rng.integers(8, 14)), endpoint=False) + rng.uniform(0, 1):
            d = np.array([np.cos(t), np.sin(t)]) * R
            spokes.append((c - d, c + d))
    sk.lines(spokes, 0.006, METAL)
    sk.opacity[METAL] = float(rng.uniform(0.7, 0.95))


def _bmx(sk: Sketch, rng: np.random.Generator, R: float) -> None:
    """Small fat wheels, a compact thick frame, a low seat and tall braced handlebars."""
    rear, front = np.array([0.2, -R]), np.array([0.74, -R])
    bb = np.array([0.44, -R * 0.95])
    seat = np.array([0.36, -R - _j(rng, 0.24)])
    head_top, head_bot = front + np.array([-0.07, -0.3]), front + np.array([-0.05, -0.2])
    _wheel_pair(sk, rng, (rear, front), R, 0.05)
    sk.lines([(bb, seat), (bb, rear), (seat, rear), (head_bot, front), (head_top, head_bot),
              (seat + np.array([0.02, 0.03]), head_top), (bb, head_bot)], 0.042, MAIN)
    bar = head_top + np.array([-0.05, -_j(rng, 0.16)])
    sk.lines([(head_top, bar), (bar, bar + np.array([0.04, 0.0])), (head_top + np.array([-0.02, -0.07]),
              head_top + np.array([0.03, -0.07]))], 0.024, MAIN)
    sk.capsule(bar + np.array([-0.02, 0.0]), bar + np.array([0.06, 0.0]), 0.018, 0.018, DARK)
    sk.ellipse(seat + np.array([-0.01, -0.02]), 0.055, 0.018, -8, DARK)
    for c in (rear, front):  # axle pegs
        sk.capsule(c + np.array([-0.03, 0.0]), c + np.array([0.03, 0.0]), 0.014, 0.014, METAL)


def _cruiser(sk: Sketch, rng: np.random.Generator, R: float) -> None:
    """Fat tyres under fenders, a long frame of swooping curved tubes, a wide sprung saddle
    and swept-back bars."""
    rear, front = np.array([0.2, -R]), np.array([1.02, -R])
    bb = np.array([0.55, -R * 0.8])
    seat = np.array([0.42, -R - 0.4])
    head_top, head_bot = front + np.array([-0.14, -0.47]), front + np.array([-0.1, -0.33])
    _wheel_pair(sk, rng, (rear, front), R, 0.055)
    mid = np.array([0.45, -R - _j(rng, 0.24)])  # where the swoop meets the seat tube
    sag = _j(rng, 0.1, 0.3)
    sk.lines(np.concatenate([
        _curve(head_top, (0.7, mid[1] + sag), mid),
        _curve(mid, (0.3, mid[1] + 0.02), rear),
        _curve(head_bot, (0.76, bb[1] + 0.02), bb)]), 0.038, MAIN)
    sk.lines([(bb, seat), (bb, rear), (head_bot, front), (head_top, head_bot)], 0.032, MAIN)
    for c in (rear, front):  # fenders over the top of each wheel
        t = np.radians(np.linspace(195, 345, 9))
        arc = c + (R + 0.05) * np.stack([np.cos(t), np.sin(t)], 1)
        sk.lines(np.stack([arc[:-1], arc[1:]], 1), 0.04, MAIN)
    sk.lines(_curve(head_top, head_top + np.array([0.05, -0.12]), head_top + np.array([-0.17, -0.12]), 5), 0.025, DARK)
    sk.capsule(head_top + np.array([-0.17, -0.12]), head_top + np.array([-0.25, -0.11]), 0.02, 0.02, DARK)
    sk.capsule(seat, seat + np.array([0.0, -0.04]), 0.015, 0.015, DARK)
    sk.ellipse(seat + np.array([-0.01, -0.05]), 0.09, 0.032, -5, DARK)


# ---- rigid objects -------------------------------------------------------------------------
def _ball(style: str) -> Draw:
    def draw(sk: Sketch, rng: np.random.Generator) -> None:
        if style == "rugby":
            sk.ellipse((0, 0), 0.5, _j(rng, 0.31), rng.uniform(-20, 20), MAIN)
            sk.lines([((-0.12, -0.05), (0.12, -0.05))], 0.02, LIGHT)
            sk.lines([((x, -0.09), (x, -0.01)) for x in (-0.08, -0.03, 0.02, 0.07)], 0.012, LIGHT)
        else:
            sk.circle((0, 0), 0.5, MAIN)
            if style == "panelled":  # volleyball seams
                t = np.linspace(-0.45, 0.45, 6)
                for k in (-1, 1):
                    curve = np.stack([t, k * (0.18 - 0.5 * t ** 2)], 1)
                    sk.lines(np.stack([curve[:-1], curve[1:]], 1), 0.02, DARK)
            elif style == "basketball":  # a cross of seams and two side arcs, turned at random
                a = np.radians(rng.uniform(0, 180))
                turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
                y = np.linspace(-0.4, 0.4, 9, dtype=np.float32)
                segs = [np.array([[[-0.49, 0.0], [0.49, 0.0]]]), np.array([[[0.0, -0.49], [0.0, 0.49]]])]
                for k in (-1, 1):
                    arc = np.stack([k * (0.16 + 0.14 * (y / 0.4) ** 2), y], 1)
                    segs.append(np.stack([arc[:-1], arc[1:]], 1))
                sk.lines(np.concatenate(segs).astype(np.float32) @ turn.T, 0.022, DARK)
            elif style == "beach":  # lens-shaped gores from pole to pole: wide coloured, narrow pale
                a = np.radians(rng.uniform(-35, 35))
                turn = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
                lat = np.linspace(-np.pi / 2, np.pi / 2, 13, dtype=np.float32)
                spin = rng.uniform(0, 120)
                for k in range(3):  # pale gores 40 degrees wide, every 120 degrees
                    lo, hi = np.radians(np.clip(np.array([0, 40]) + spin + 120 * k - 180, -90, 90))
                    if hi - lo < 0.05:
                        continue
                    side = [np.stack([0.5 * np.sin(p) * np.cos(lat), 0.5 * np.sin(lat)], 1) for p in (lo, hi)]
                    sk.poly(np.concatenate([side[0], side[1][::-1]]) @ turn.T, LIGHT)
                sk.circle(np.array([0.0, -0.47], np.float32) @ turn.T, 0.05, ACCENT)
        sk.ellipse((-0.18, -0.2), 0.1, 0.06, -30, LIGHT)
    return draw


def _chair(style: str) -> Draw:
    def draw(sk: Sketch, rng: np.random.Generator) -> None:
        seat_y = -_j(rng, 0.45)
        if style == "four_leg":
            back = -_j(rng, 1.0)
            sk.poly([(0, seat_y), (0.5, seat_y), (0.5, seat_y + 0.05), (0, seat_y + 0.05)], MAIN)
            sk.capsule((0.02, seat_y), (0.0, back), 0.03, 0.03, MAIN)
            sk.capsule((0.07, seat_y), (0.05, back), 0.025, 0.025, SHADE)
            for y in np.linspace(back + 0.05, seat_y - 0.1, int(rng.integers(2, 4))):
                sk.lines([((0.0, y), (0.06, y))], 0.05, MAIN)
            for x0, x1 in ((0.03, 0.0), (0.47, 0.5), (0.1, 0.08), (0.42, 0.44)):
                sk.capsule((x0, seat_y + 0.04), (x1, 0), 0.025, 0.02, MAIN if x0 in (0.03, 0.47) else SHADE)
        elif style == "rocking":  # raked back, arm rest, legs standing on a curved rocker
            back = -_j(rng, 1.05)
            sk.lines(_curve((-0.22, -0.1), (0.25, 0.09), (0.76, -0.1)), 0.04, MAIN)
            for x0, x1, part in ((0.06, 0.02, SHADE), (0.44, 0.47, SHADE), (0.02, -0.03, MAIN), (0.5, 0.54, MAIN)):
                sk.capsule((x0, seat_y), (x1, -0.04), 0.025, 0.022, part)
            sk.capsule((0.02, seat_y), (-0.14, back), 0.03, 0.028, MAIN)
            sk.capsule((0.07, seat_y), (-0.08, back), 0.025, 0.025, SHADE)
            for y in np.linspace(back + 0.06, seat_y - 0.12, int(rng.integers(3, 5))):
                x = -0.14 + (y - back) / (seat_y - back) * 0.16
                sk.lines([((x, y), (x + 0.07, y))], 0.045, MAIN)
            sk.poly([(-0.02, seat_y), (0.54, seat_y), (0.54, seat_y + 0.05), (-0.02, seat_y + 0.05)], MAIN)
            arm = seat_y - 0.22
            sk.capsule((-0.06, arm), (0.5, arm), 0.025, 0.025, MAIN)
            sk.capsule((0.48, arm), (0.48, seat_y), 0.022, 0.022, MAIN)
        elif style == "office":  # cushions on a gas-lift column over a star base on casters
            sk.capsule((0.27, seat_y + 0.04), (0.27, -0.12), 0.024, 0.024, METAL)
            sk.capsule((0.27, -0.28), (0.27, -0.1), 0.036, 0.036, DARK)
            for x, part in ((0.0, DARK), (0.56, DARK), (0.36, SHADE)):
                sk.capsule((0.27, -0.1), (x, -0.05), 0.026, 0.02, part)
                sk.circle((x, -0.035), 0.035, DARK)
            sk.capsule((0.08, seat_y + 0.03), (0.0, seat_y - 0.2), 0.022, 0.022, DARK)
            top = seat_y - _j(rng, 0.55)
            sk.ellipse((-0.02, (seat_y - 0.1 + top) / 2), 0.08, (seat_y - 0.1 - top) / 2, 6, MAIN)
            sk.capsule((0.04, seat_y - 0.01), (0.52, seat_y - 0.01), 0.055, 0.045, MAIN)
            sk.capsule((0.36, seat_y - 0.02), (0.36, seat_y - 0.17), 0.018, 0.018, DARK)
            sk.capsule((0.22, seat_y - 0.18), (0.44, seat_y - 0.18), 0.02, 0.02, DARK)
        elif style == "stool":
            sk.ellipse((0.25, seat_y), 0.26, 0.06, 0, MAIN)
            for x1 in (0.02, 0.25, 0.48):
                sk.capsule((0.25 + (x1 - 0.25) * 0.5, seat_y + 0.04), (x1, 0), 0.022, 0.018, SHADE if x1 == 0.25 else MAIN)
            sk.lines([((0.1, seat_y * 0.35), (0.4, seat_y * 0.35))], 0.025, SHADE)
        else:  # armchair
            sk.ellipse((0.05, -0.55), 0.12, 0.4, -5, MAIN)
            sk.poly([(0.0, -0.45), (0.7, -0.45), (0.72, -0.15), (0.0, -0.15)], MAIN)
            sk.ellipse((0.62, -0.45), 0.1, 0.18, 0, SHADE)
            for x in (0.05, 0.65):
                sk.capsule((x, -0.15), (x, 0), 0.03, 0.025, DARK)
    return draw


def _glass(style: str) -> Draw:
    """See-through body (the MAIN part, with its own opacity), opaque rims."""
    def draw(sk: Sketch, rng: np.random.Generator) -> None:
        w = _j(rng, 0.5)
        shine = ((-w * 0.3, -0.82), (-w * 0.28, -0.45))
        if style == "flute":  # tall narrow bowl on a long stem
            f = w * 0.32
            bowl = [(-f, -1.0), (f, -1.0), (f * 0.95, -0.7), (f * 0.5, -0.46), (-f * 0.5, -0.46), (-f * 0.95, -0.7)]
            sk.poly(bowl, MAIN)
            sk.capsule((0, -0.47), (0, -0.05), 0.018, 0.018, LIGHT)
            sk.ellipse((0, -0.035), w * 0.3, 0.03, 0, LIGHT)
            if rng.random() < 0.5:
                sk.poly([(-f * 0.8, -0.64), (f * 0.8, -0.64), (f * 0.5, -0.48), (-f * 0.5, -0.48)], ACCENT)
            shine = ((-f * 0.55, -0.95), (-f * 0.5, -0.64))
        elif style == "goblet":  # round bowl on a short thick stem with a knob
            g = w * 0.55
            t = np.linspace(0, np.pi, 11)
            bowl = np.stack([g * np.cos(t), -0.95 + 0.45 * np.sin(t)], 1)
            sk.poly(bowl, MAIN)
            sk.capsule((0, -0.5), (0, -0.08), 0.03, 0.04, LIGHT)
            sk.circle((0, -0.3), 0.06, LIGHT)
            sk.ellipse((0, -0.045), w * 0.42, 0.045, 0, LIGHT)
            if rng.random() < 0.5:
                sk.poly(bowl[(bowl[:, 1] > -0.78)] * np.array([0.97, 1.0]), ACCENT)
            shine = ((-g * 0.6, -0.88), (-g * 0.45, -0.65))
        elif style == "wine_glass":
            bowl = [(-w / 2, -1.0), (w / 2, -1.0), (w * 0.45, -0.7), (0.1, -0.55), (-0.1, -0.55), (-w * 0.45, -0.7)]
            sk.poly(bowl, MAIN)
            sk.capsule((0, -0.56), (0, -0.06), 0.025, 0.025, LIGHT)
            sk.ellipse((0, -0.04), w * 0.4, 0.035, 0, LIGHT)
            if rng.random() < 0.5:
                sk.poly([(-w * 0.45, -0.78), (w * 0.45, -0.78), (0.1, -0.58), (-0.1, -0.58)], ACCENT)
        elif style == "tumbler":
            bowl = [(-w / 2, -0.9), (w / 2, -0.9), (w * 0.42, 0), (-w * 0.42, 0)]
            sk.poly(bowl, MAIN)
            if rng.random() < 0.5:
                sk.poly([(-w * 0.46, -0.5), (w * 0.46, -0.5), (w * 0.42, 0), (-w * 0.42, 0)], ACCENT)
        else:  # mug with a handle
            bowl = [(-w / 2, -0.85), (w / 2, -0.85), (w / 2, 0), (-w / 2, 0)]
            sk.poly(bowl, MAIN)
            sk.ring((w / 2 + 0.1, -0.45), 0.17, 0.05, LIGHT)
        sk.lines(np.stack([bowl, np.roll(bowl, -1, 0)], 1), 0.025, LIGHT)
        sk.lines([shine], 0.03, LIGHT)
        sk.opacity.update({MAIN: float(rng.uniform(0.12, 0.3)), LIGHT: float(rng.uniform(0.6, 0.9)),
                           ACCENT: float(rng.uniform(0.6, 0.85))})
    return draw


# profile of a bottle drawn from its shape: (height from the base, half width) knots, the
# half width of its neck and cap, and the height band of its label
_BOTTLE_PROFILES = {
    # soda: contoured glass bottle, bulge - waist - bulge, a long tapering shoulder
    "soda": (((0, 0.13), (0.04, 0.16), (0.16, 0.17), (0.3, 0.125), (0.44, 0.165), (0.56, 0.15),
              (0.78, 0.07), (0.84, 0.055), (1.0, 0.055)), 0.065, (0.06, 0.2)),
    # milk: short wide body, rounded shoulder, wide mouth with a lip
    "milk": (((0, 0.23), (0.03, 0.25), (0.5, 0.25), (0.62, 0.23), (0.76, 0.16), (0.86, 0.14), (0.93, 0.14),
              (0.95, 0.16), (1.0, 0.16)), 0.16, (0.15, 0.42)),
}


def _bottle(style: str) -> Draw:
    def draw(sk: Sketch, rng: np.random.Generator) -> None:
        w = _j(rng, 0.34)
        label = [(-w * 0.48, -0.45), (w * 0.48, -0.45), (w * 0.48, -0.2), (-w * 0.48, -0.2)]
        if style in _BOTTLE_PROFILES:  # a lathe profile: half widths at heights
            knots, neck, (lo, hi) = _BOTTLE_PROFILES[style]
            s = np.linspace(0, 1, 41)
            half = np.convolve(np.interp(s, *zip(*knots)), np.ones(5) / 5, "same")
            half[:3], half[-3:] = np.interp(s[:3], *zip(*knots)), np.interp(s[-3:], *zip(*knots))
            half = np.where(s > 0.8, half, half * w / 0.34)  # body widths follow the drawn width
            body = np.concatenate([np.stack([-half, -s], 1), np.stack([half, -s], 1)[::-1]])
            band = (s >= lo) & (s <= hi)
            label = np.concatenate([np.stack([-half[band] * 0.99, -s[band]], 1),
                                    np.stack([half[band] * 0.99, -s[band]], 1)[::-1]])
            cap = (-neck, -1.05, neck, -0.96)
            if style == "soda":  # ribs across the waist and a ring under the cap
                sk.lines([((-half[k], -s[k]), (half[k], -s[k])) for k in (11, 13, 15)], 0.012, LIGHT)
                sk.lines([((-neck * 1.5, -0.94), (neck * 1.5, -0.94))], 0.02, LIGHT)
        elif style == "wine_bottle":
            body = [(-w / 2, 0), (-w / 2, -0.6), (-0.06, -0.78), (-0.05, -1.0), (0.05, -1.0), (0.06, -0.78),
                    (w / 2, -0.6), (w / 2, 0)]
            cap = (-0.055, -1.05, 0.055, -0.95)
        elif style == "flask":
            sk.circle((0, -0.3), w * 0.85, MAIN)
            body = [(-0.06, -0.5), (-0.06, -0.95), (0.06, -0.95), (0.06, -0.5)]
            cap = (-0.07, -1.0, 0.07, -0.93)
        else:  # jug with handle
            body = [(-w * 0.7, 0), (-w * 0.75, -0.55), (-w * 0.4, -0.8), (w * 0.4, -0.8), (w * 0.75, -0.55), (w * 0.7, 0)]
            cap = (-w * 0.4, -0.86, w * 0.4, -0.78)
            sk.ring((w * 0.85, -0.45), 0.16, 0.05, LIGHT)
        sk.poly(body, MAIN)
        sk.lines(np.stack([body, np.roll(body, -1, 0)], 1), 0.022, LIGHT)
        x0, y0, x1, y1 = cap
        sk.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], ACCENT)
        if rng.random() < 0.5:  # paper label
            sk.poly(label, ACCENT)
        sk.opacity.update({MAIN: float(rng.uniform(0.3, 0.55)), LIGHT: float(rng.uniform(0.6, 0.9))})
    return draw


# ---- plants --------------------------------------------------------------------------------
def _flower(style: str) -> Draw:
    def draw(sk: Sketch, rng: np.random.Generator) -> None:
        top = np.array([rng.uniform(-0.08, 0.08), -0.75])
        sk.capsule((0, 0), top, 0.025, 0.02, GREEN)
        for k in (-1, 1):
            sk.ellipse((k * 0.09, -0.25 - 0.1 * rng.random()), 0.11, 0.035, k * -30, GREEN)
        if style == "sunflower":  # thick stem, big leaves, many short petals round a big dark disc
            sk.capsule((0, 0), top, 0.04, 0.032, GREEN)
            for k in (-1, 1):
                sk.ellipse((k * 0.16, -0.42 + 0.08 * rng.random()), 0.17, 0.075, k * -25, GREEN)
            n = int(rng.integers(16, 24))
            for k, t in enumerate(np.linspace(0, 2 * np.pi, 2 * n, endpoint=False)):
                sk.ellipse(top + 0.2 * np.array([np.cos(t), np.sin(t)]), 0.1, 0.035, np.degrees(t),
                           SHADE if k % 2 else MAIN)
            for k, t in enumerate(np.linspace(0, 2 * np.pi, n, endpoint=False)):
                sk.ellipse(top + 0.21 * np.array([np.cos(t), np.sin(t)]), 0.1, 0.035, np.degrees(t), MAIN)
            sk.circle(top, 0.13, DARK)
            sk.circle(top, 0.07, CENTRE)
        elif style == "lily":  # a trumpet opening to the side, pointed petals curling back, stamens
            a = np.radians(rng.uniform(15, 45))
            d, n = np.array([np.cos(a), -np.sin(a)]), np.array([np.sin(a), np.cos(a)])
            base = top + d * 0.02
            mouth = base + d * _j(rng, 0.34)
            sk.poly([base + n * 0.04, mouth + n * 0.16, mouth - n * 0.16, base - n * 0.04], MAIN)
            for side in (-1, 1):  # upper and lower petals, tips bent back
                tip = mouth + d * 0.12 + side * n * 0.33
                sk.poly([mouth + side * n * 0.02 - d * 0.08, mouth + side * n * 0.2, tip,
                         mouth + side * n * 0.15 - d * 0.18], MAIN)
            sk.poly([mouth - n * 0.09, mouth + d * 0.25, mouth + n * 0.09], SHADE)
            sk.lines([(mouth - d * 0.05, mouth + d * 0.17 + n * k * 0.06) for k in (-1, 0, 1)], 0.014, GREEN)
            for k in (-1, 0, 1):
                sk.ellipse(mouth + d * 0.18 + n * k * 0.065, 0.024, 0.014, 0, CENTRE)
            if rng.random() < 0.5:  # a closed bud on a side stalk
                stalk = top + np.array([-0.02, 0.18])
                bud = stalk + np.array([-0.16, -0.12])
                sk.capsule(stalk, bud, 0.015, 0.012, GREEN)
                sk.ellipse(bud + np.array([-0.02, -0.07]), 0.04, 0.1, -15, MAIN)
        elif style == "daisy":
            n = int(rng.integers(7, 13))
            for t in np.linspace(0, 2 * np.pi, n, endpoint=False):
                sk.ellipse(top + 0.16 * np.array([np.cos(t), np.sin(t)]), 0.14, 0.045, np.degrees(t), MAIN)
            sk.circle(top, 0.08, CENTRE)
        elif style == "tulip":
            sk.ellipse(top + np.array([0, -0.08]), 0.14, 0.16, 0, MAIN)
            for k in (-1, 0, 1):
                sk.poly([top + np.array([k * 0.1 - 0.06, -0.1]), top + np.array([k * 0.1, -0.32]),
                         top + np.array([k * 0.1 + 0.06, -0.1])], MAIN)
        else:  # star flower: pointed petals
            n = int(rng.integers(5, 7))
            pts = []
            for k in range(2 * n):
                t = np.pi * k / n
                rr = 0.3 if k % 2 == 0 else 0.1
                pts.append(top + rr * np.array([np.cos(t), np.sin(t)]))
            sk.poly(pts, MAIN)
            sk.circle(top, 0.06, CENTRE)
    return draw


def _tree(style: str) -> Draw:
    def draw(sk: Sketch, rng: np.random.Generator) -> None:
        if style == "round":
            sk.capsule((0, 0), (0, -0.45), 0.07, 0.05, TRUNK)
            c, rx, ry = np.array([0, -0.75]), _j(rng, 0.38), _j(rng, 0.32)
            for _ in range(int(rng.integers(30, 50))):
                t, rr = rng.uniform(0, 2 * np.pi), np.sqrt(rng.uniform(0.05, 1))
                sk.circle(c + rr * np.array([rx * np.cos(t), ry * np.sin(t)]), rng.uniform(0.06, 0.13),
                          MAIN if rng.random() < 0.75 else SHADE)
            sk.fur = (0.02, 0.4, None)
        elif style == "oak":  # thick short trunk forking into a broad, flat-bottomed crown of clumps
            sk.capsule((0, 0), (0, -0.32), 0.1, 0.075, TRUNK)
            for x, y in ((-0.3, -0.55), (0.32, -0.58), (0.04, -0.62)):
                sk.capsule((0, -0.3), (x, y), 0.055, 0.03, TRUNK)
            c, rx, ry = np.array([0, -0.74]), _j(rng, 0.62), _j(rng, 0.28)
            for t in np.linspace(np.pi, 2 * np.pi, int(rng.integers(6, 9))):  # lumpy upper outline
                sk.circle(c + 0.8 * np.array([rx * np.cos(t), ry * np.sin(t)]), rng.uniform(0.17, 0.24),
                          MAIN if rng.random() < 0.7 else SHADE)
            for x in np.linspace(-0.8, 0.8, 5):  # flatter underside
                sk.circle(c + np.array([x * rx, 0.12]), rng.uniform(0.12, 0.16), SHADE if rng.random() < 0.5 else MAIN)
            for _ in range(int(rng.integers(12, 20))):
                t, rr = rng.uniform(0, 2 * np.pi), np.sqrt(rng.uniform(0.05, 0.8))
                sk.circle(c + rr * np.array([rx * np.cos(t), ry * np.sin(t)]), rng.uniform(0.1, 0.16), MAIN)
            sk.fur = (0.02, 0.4, None)
        elif style == "willow":  # a leaning trunk, a lumpy dome and long strands drooping from it
            lean = rng.uniform(-0.08, 0.08)
            sk.capsule((0, 0), (lean, -0.6), 0.08, 0.055, TRUNK)
            for k in (-1, 1):
                sk.capsule((lean * 0.8, -0.5), (lean + k * 0.25, -0.78), 0.04, 0.025, TRUNK)
            c, rx, ry = np.array([lean, -0.78]), _j(rng, 0.42), _j(rng, 0.26)
            for _ in range(int(rng.integers(30, 42))):  # strands: out from the dome, then straight down
                x = rng.uniform(-1, 1)
                start = c + np.array([x * rx * 0.9, -ry * np.sqrt(1 - x * x) * rng.uniform(0.2, 0.9)])
                end = np.array([c[0] + x * rx * 1.3 + rng.uniform(-0.04, 0.04), -rng.uniform(0.12, 0.42)])
                bow = (c[0] + x * rx * 1.35, start[1] + 0.04)
                sk.lines(_curve(start, bow, end, 5), rng.uniform(0.02, 0.04), MAIN if rng.random() < 0.6 else SHADE)
            sk.ellipse(c + np.array([0.0, -ry * 0.25]), rx * 0.75, ry * 0.7, 0, MAIN)
            for t in np.linspace(np.pi, 2 * np.pi, int(rng.integers(6, 9))):  # lumpy dome
                sk.circle(c + 0.75 * np.array([rx * np.cos(t), ry * np.sin(t)]), rng.uniform(0.12, 0.17),
                          MAIN if rng.random() < 0.75 else SHADE)
            sk.fur = (0.025, 0.6, None)
        elif style == "conifer":
            sk.capsule((0, 0), (0, -0.2), 0.05, 0.045, TRUNK)
            n = int(rng.integers(3, 5))
            for k in range(n):
                y, wk = -0.15 - k * 0.85 / n, 0.4 * (1 - k / (n + 1))
                sk.poly([(-wk, y), (wk, y), (0.0, y - 0.4)], MAIN if k % 2 == 0 else SHADE)
            sk.fur = (0.015, 0.5, None)
        else:  # palm: bent trunk and fronds of leaflets
            bend = rng.uniform(-0.15, 0.15)
            pts = [np.array([bend * t * t, -t]) for t in np.linspace(0, 1, 6)]
            for a, b in zip(pts[:-1], pts[1:]):
                sk.capsule(a, b, 0.04, 0.035, TRUNK)
            crown = pts[-1]
            segs = []
            for t in np.linspace(0, 2 * np.pi, int(rng.integers(6, 10)), endpoint=False):
                d = np.array([np.cos(t), 0.5 * np.sin(t) + 0.2])
                sk.capsule(crown, crown + 0.45 * d, 0.015, 0.008, MAIN)
                for s in np.linspace(0.1, 0.9, 7):
                    p = crown + 0.45 * s * d
                    segs.append((p, p + np.array([0.0, 0.09 * (1 - s * 0.6)])))
            sk.lines(segs, 0.018, MAIN)
    return draw


def _bird(style: str) -> Draw:
    def draw(sk: Sketch, rng: np.random.Generator) -> None:
        tilt = rng.uniform(-10, 10)
        if style == "swimming":  # duck on the water: boat-shaped body, raised tail, flat bill, no legs
            _duck(sk, rng, tilt)
            return
        if style == "long_tailed":  # on the ground, body raised, a long tail trailing behind
            _long_tailed(sk, rng)
            return
        if style == "wading":  # long legs and neck
            for x in (-0.02, 0.05):
                sk.capsule((x, 0.05), (x + rng.uniform(-0.05, 0.05), 0.75), 0.012, 0.01, DARK)
            sk.capsule((0.2, -0.05), (0.3, -0.45), 0.05, 0.035, MAIN)
            head = np.array([0.33, -0.48])
        else:
            head = np.array([0.32, -0.16])
        sk.ellipse((0, 0), 0.3, 0.16, tilt, MAIN)
        sk.poly([(-0.25, -0.02), (-0.52, -0.1 + rng.uniform(-0.05, 0.1)), (-0.5, 0.08)], MAIN)
        sk.circle(head, 0.1, MAIN)
        sk.poly([head + np.array([0.07, -0.03]), head + np.array([0.24, 0.01]), head + np.array([0.07, 0.04])], ACCENT)
        sk.circle(head + np.array([0.03, -0.02]), 0.018, DARK)
        if style == "flying":
            lift = rng.uniform(0.3, 0.6)
            sk.poly([(-0.12, -0.05), (0.1, -0.05), (0.02 + rng.uniform(-0.1, 0.1), -0.2 - lift)], SHADE)
            sk.poly([(-0.1, 0.0), (0.12, 0.0), (-0.05, -0.15 - lift * 0.8)], MAIN)
        else:
            sk.ellipse((-0.05, -0.02), 0.2, 0.08, tilt - 10, SHADE)
            if style == "perched":
                for x in (-0.03, 0.05):
                    sk.capsule((x, 0.12), (x, 0.28), 0.012, 0.01, DARK)
        sk.fur = (0.015, 0.15, None)
    return draw


def _duck(sk: Sketch, rng: np.random.Generator, tilt: float) -> None:
    tilt = tilt * 0.3
    sk.poly([_rot(p, tilt) for p in ((-0.34, -0.02), (-0.5, -0.18), (-0.36, -0.12), (-0.2, -0.1))], MAIN)
    sk.poly([_rot(p, tilt) for p in ((-0.42, -0.1), (-0.3, -0.14), (0.1, -0.16), (0.34, -0.08), (0.36, 0.04),
                                     (0.2, 0.12), (-0.2, 0.12), (-0.38, 0.04))], MAIN)
    head = _rot((0.3, -0.36 - rng.uniform(0, 0.06)), tilt)
    sk.capsule(_rot((0.22, -0.06), tilt), head, 0.08, 0.06, MAIN)
    sk.circle(head, 0.1, MAIN)
    sk.ellipse(head + np.array([0.14, 0.04]), 0.09, 0.032, 8, ACCENT)
    sk.circle(head + np.array([0.03, -0.02]), 0.018, DARK)
    sk.ellipse(_rot((-0.06, -0.06), tilt), 0.22, 0.08, -tilt - 4, SHADE)
    sk.fur = (0.015, 0.15, None)


def _long_tailed(sk: Sketch, rng: np.random.Generator) -> None:
    tilt = rng.uniform(15, 30)
    body = [_rot(p, tilt) for p in ((0.0, 0.0), (0.2, 0.0), (-0.24, 0.0))]
    for x in (-0.03, 0.05):  # legs to the ground, toes forward
        hip = body[0] + np.array([x, 0.1])
        foot = np.array([x + 0.02, 0.36])
        sk.capsule(hip, foot, 0.014, 0.011, DARK)
        sk.lines([(foot, foot + np.array([0.07, 0.0]))], 0.012, DARK)
    tail = body[2] + np.array([-_j(rng, 0.5), _j(rng, 0.22, 0.4)])
    sk.poly([body[2] + np.array([0.04, -0.06]), tail + np.array([0.0, -0.035]), tail + np.array([0.02, 0.035]),
             body[2] + np.array([0.06, 0.05])], MAIN)
    sk.ellipse(body[0], 0.26, 0.13, -tilt, MAIN)
    head = body[1] + np.array([0.08, -0.14])
    sk.capsule(body[1], head, 0.09, 0.08, MAIN)
    sk.circle(head, 0.09, MAIN)
    sk.poly([head + np.array([0.06, -0.03]), head + np.array([0.2, 0.0]), head + np.array([0.06, 0.03])], ACCENT)
    sk.circle(head + np.array([0.03, -0.02]), 0.016, DARK)
    sk.ellipse(body[0] + np.array([-0.04, -0.02]), 0.18, 0.07, -tilt - 8, SHADE)
    sk.fur = (0.015, 0.15, None)


def _table() -> dict[str, dict[str, Draw]]:
    quad = ("standing", "walking", "galloping", "grazing", "lying")
    table: dict[str, dict[str, Draw]] = {}
    for kind in QUADRUPEDS:
        poses = quad + (("sitting",) if kind in ("dog", "cat") else ())
        table[kind] = {pose: _quadruped(kind, pose) for pose in poses}
    table["bird"] = {s: _bird(s) for s in ("perched", "flying", "wading", "swimming", "long_tailed")}
    table["person"] = {p: _person(p) for p in PERSON_POSES}
    table["car"] = {s: _car(s) for s in ("sedan", "hatchback", "van", "pickup", "coupe")}
    table["bus"] = {s: _bus(s) for s in ("city", "double_decker", "minibus", "coach", "articulated")}
    table["bicycle"] = {s: _bicycle(s) for s in ("diamond", "step_through", "tandem", "bmx", "cruiser")}
    table["ball"] = {s: _ball(s) for s in ("round", "rugby", "panelled", "basketball", "beach")}
    table["chair"] = {s: _chair(s) for s in ("four_leg", "stool", "armchair", "rocking", "office")}
    table["glass"] = {s: _glass(s) for s in ("wine_glass", "tumbler", "mug", "flute", "goblet")}
    table["bottle"] = {s: _bottle(s) for s in ("wine_bottle", "flask", "jug", "soda", "milk")}
    table["flower"] = {s: _flower(s) for s in ("daisy", "tulip", "star", "sunflower", "lily")}
    table["tree"] = {s: _tree(s) for s in ("round", "conifer", "palm", "oak", "willow")}
    return table


FAMILIES: dict[str, dict[str, Draw]] = _table()
