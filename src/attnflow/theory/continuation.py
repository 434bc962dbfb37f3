"""Pseudo-arclength continuation of a branch of solutions of G(u, s) = 0 in the parameter s (docs/science.md §6).

From a point (u, s) and the unit tangent of the branch there, each step predicts (u, s) + ds * tangent and
corrects by Newton's method on G = 0 together with tangent . (point - predicted) = 0, so the branch is followed
through folds (where dG/du is singular but the extended system is not). A failed correction halves ds; a
successful one lets it grow back to `step`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ParameterError
from ..threads import one_blas_thread

TOLERANCE = 1e-12  # largest |G| (and |tangent . (point - predicted)|) a Newton iteration accepts
MAX_NEWTON = 30
SMALLEST_STEP = 1e-8


def follow(equations: Callable, point: np.ndarray, tangent: np.ndarray, keep_going: Callable[[np.ndarray], bool],
           step: float, max_points: int, admissible: Callable[[np.ndarray], bool]) -> list[tuple]:
    """The points (u, s) (s last) of the branch through `point` in the direction `tangent`, each with what
    `equations` returned besides G and its Jacobian, while keep_going(point) and fewer than max_points.

    equations(point) -> (G, dG/d(u, s), extra): raises ParameterError where G is not defined there.
    admissible(point): False where a corrected point is off the branch's domain (the step is then halved).
    Raises ParameterError naming "step" when ds falls below SMALLEST_STEP.
    """
    with one_blas_thread():
        return _follow(equations, point, tangent, keep_going, step, max_points, admissible)


def _follow(equations, point, tangent, keep_going, step, max_points, admissible):
    points, ds = [], step
    while len(points) < max_points and keep_going(point):
        corrected = _correct(equations, point + ds * tangent, tangent)
        if corrected is None or not admissible(corrected[0]):
            ds /= 2
            if ds < SMALLEST_STEP:
                raise ParameterError("step", ds, f"a step the continuation can take from s = {point[-1]:g}")
            continue
        new, extra = corrected
        tangent = (new - point) / np.linalg.norm(new - point)
        point, ds = new, min(step, 1.5 * ds)
        points.append((point.copy(), extra))
    return points


def _correct(equations, predicted, tangent):
    point = predicted.copy()
    for _ in range(MAX_NEWTON):
        try:
            g, jacobian, extra = equations(point)
        except ParameterError:
            return None
        arc = tangent @ (point - predicted)
        if np.abs(g).max() < TOLERANCE and abs(arc) < TOLERANCE:
            return point, extra
        point = point - np.linalg.solve(np.vstack([jacobian, tangent]), np.append(g, arc))
    return None
