"""Which augmentation types each original of a class gets: even over the class, stable under change.

Each original ``u`` of a class has its own seeded order of the types, ``prefs[u]``
(from the seed, the class and ``u`` alone). With ``count`` augmentations and ``T``
types, its first ``(count // T) * T`` augmentations walk that order whole cycles at a
time: every type the same number of times, whatever the others do. What is left, the
``count % T`` "tail" types, are distinct: first the start of its own order (so an
original whose count drops by one loses its last augmentation and keeps the others),
then evened out over the class: while a type is above its share, one original holding
it swaps it for a type below its share, the swap that renames the fewest files (ties
broken by a seeded number of the original and the two types). So over the class any two
types' counts differ by at most one, and the result depends on the set of originals
alone, never on their order or on an earlier run (a rerun equals a fresh build). An
original added or removed changes the tails of a few others only: the other originals
keep their types, so their files keep their names.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..seeds import derive_seed


def preferences(unit: str, types: Sequence[str], *, seed: int, name: str) -> tuple[str, ...]:
    """``unit``'s own seeded order of ``types``."""
    return tuple(sorted(types, key=lambda t: (derive_seed(seed, name, unit, t, "type order"), t)))


def _ordered(tail: set[str], own: Sequence[str]) -> tuple[str, ...]:
    return tuple(t for t in own if t in tail)


def _renamed(tail: set[str], own: Sequence[str], out: str, into: str) -> int:
    """Files renamed when ``out`` leaves ``tail`` for ``into`` (the tail kept in ``own``'s order)."""
    before, after = _ordered(tail, own), _ordered(tail - {out} | {into}, own)
    return sum(a != b for a, b in zip(before, after, strict=True))


def even_out(tails: list[set[str]], prefs: Sequence[Sequence[str]], units: Sequence[str],
             types: Sequence[str], *, seed: int, name: str) -> None:
    """Swap tail types, in place, until every type's tail count is within one of the others'.

    Each type's share is ``total // T``, one more for the types most asked for (ties in a
    seeded order); each swap takes a type above its share from the original where
    swapping it for a type below its share renames the fewest files.
    """
    order = {t: derive_seed(seed, name, t, "type share") for t in types}
    count = {t: sum(t in tail for tail in tails) for t in types}
    base, extra = divmod(sum(count.values()), len(types))
    most = sorted(types, key=lambda t: (-count[t], order[t], t))
    share = {t: base + (i < extra) for i, t in enumerate(most)}
    while True:
        over = [t for t in most if count[t] > share[t]]
        if not over:
            return
        t = over[0]
        under = [u for u in most if count[u] < share[u]]
        swaps = [(_renamed(tails[i], prefs[i], t, u), derive_seed(seed, name, units[i], t, u, "swap"), i, u)
                 for i in range(len(tails)) if t in tails[i] for u in under if u not in tails[i]]
        _, _, i, u = min(swaps)
        tails[i] = tails[i] - {t} | {u}
        count[t] -= 1
        count[u] += 1


def assign_types(units: Sequence[str], counts: Sequence[int], types: Sequence[str], *, seed: int,
                 name: str) -> list[tuple[str, ...]]:
    """The types of each original's augmentations, in order (``counts[i]`` of them for ``units[i]``).

    Over the class, any two types' counts differ by at most one; within one original
    too, and its types are all different when it has at most ``len(types)``.
    """
    if not types:
        raise ValueError("assign_types needs at least one augmentation type")
    n_types = len(types)
    prefs = [preferences(u, types, seed=seed, name=name) for u in units]
    tails = [set(own[: c % n_types]) for own, c in zip(prefs, counts, strict=True)]
    even_out(tails, prefs, units, types, seed=seed, name=name)
    return [own * (c // n_types) + _ordered(tail, own)
            for own, c, tail in zip(prefs, counts, tails, strict=True)]
