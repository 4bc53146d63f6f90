"""The HYPE protocol's numbers, each with its source, and the HYPE-time staircase.

HYPE is Zhou, Gordon, Krishna, Narcomey, Fei-Fei & Bernstein, "HYPE: A Benchmark for Human eYe Perceptual
Evaluation of Generative Models", NeurIPS 2019 (arXiv 1904.01121). "HYPE_time" and "HYPE∞" below name the
paper's sections on the two methods; the qualification and the 30 raters come from its evaluator protocol.

The staircase (paper, "HYPE_time"): exposure starts at 500 ms and stays within [100, 1000] ms; after a
correct answer the exposure goes down by 10 ms, after a wrong one up by 30 ms. Why that way round: a
weighted up-down staircase (Kaernbach 1991, "Simple adaptive testing with the weighted up-down method")
drifts by ``-down`` with probability p (correct) and by ``+up`` with probability 1 - p, so it settles
where the expected step is zero, ``p * down = (1 - p) * up``, i.e. ``p = up / (up + down)``. With
down = 10 ms and up = 30 ms, p = 30 / 40 = 0.75: the paper's 75% accuracy target. Read the other way
round (up 10 after an error, down 30 after a correct answer) it would settle at p = 0.25, below chance
for a two-choice task, so that reading cannot be what the paper meant. ``target_accuracy`` computes it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, fields

from ..errors import GenmetricsError

METHODS = ("infinity", "time")
PHASES = ("tutorial", "qualification", "task")

# Bootstrap over raters (paper, "HYPE_time" and "HYPE∞": 95% CIs from 10,000 bootstrap resamples of raters).
BOOTSTRAP_RESAMPLES = 10_000
CONFIDENCE = 0.95
# Paper (evaluator protocol of its experiments): 30 evaluators per model. Printed as the recommended size of a study.
RATERS_PER_MODEL = 30


@dataclass(frozen=True)
class Protocol:
    """The counts and timings of one study. Every default is the paper's; counts can be set per study."""

    method: str = "infinity"
    # genmetrics' choice: the paper has "a short tutorial with labelled examples" without a count.
    tutorial_n: int = 10
    # Paper (evaluator qualification): 100 images, 50 real / 50 fake, no time limit.
    qualification_n: int = 100
    # ... and a rater passes with at least 65% correct on the real AND on the fake images.
    qualification_pass: float = 0.65
    # Paper, "HYPE∞": 100 images per rater, 50 real / 50 fake, no time limit.
    task_n: int = 100
    # Paper, "HYPE_time": 3 staircases (blocks) of 150 images, 50/50.
    blocks: int = 3
    block_n: int = 150
    # Paper, "HYPE_time": start at 500 ms, clamp to [100, 1000] ms, down 10 ms / up 30 ms (see module doc).
    start_ms: int = 500
    min_ms: int = 100
    max_ms: int = 1000
    down_ms: int = 10
    up_ms: int = 30
    # Paper, "HYPE_time": a 3-2-1 countdown of 500 ms per number, then the image, then 4 masks of 30 ms.
    countdown_from: int = 3
    countdown_ms: int = 500
    masks: int = 4
    mask_ms: int = 30

    def check(self) -> "Protocol":
        """Raise ``GenmetricsError`` naming the option when a count or timing cannot work."""
        if self.method not in METHODS:
            raise GenmetricsError(f"--method {self.method!r}: choose one of {', '.join(METHODS)}")
        for name in ("tutorial_n", "qualification_n", "task_n", "block_n"):
            value = getattr(self, name)
            if value < 0 or value % 2:
                raise GenmetricsError(f"--{name.replace('_', '-')} {value}: give an even number >= 0 "
                                      f"(half real, half fake)")
        if self.task_units() <= 0 or self.blocks < 0:
            raise GenmetricsError("the task has no trials: give --task-n > 0 (infinity) or --blocks and "
                                  "--block-n > 0 (time)")
        if not 0.0 <= self.qualification_pass <= 1.0:
            raise GenmetricsError(f"qualification_pass {self.qualification_pass}: give a fraction in [0, 1]")
        if not 0 < self.min_ms <= self.start_ms <= self.max_ms:
            raise GenmetricsError(f"exposure: need 0 < min_ms <= start_ms <= max_ms, got {self.min_ms}, "
                                  f"{self.start_ms}, {self.max_ms}")
        return self

    def task_units(self) -> int:
        return self.task_n if self.method == "infinity" else self.blocks * self.block_n

    def plan(self) -> list[tuple[str, int, int]]:
        """(phase, block, number of trials) in the order a rater meets them."""
        out = [("tutorial", 0, self.tutorial_n), ("qualification", 0, self.qualification_n)]
        if self.method == "infinity":
            out.append(("task", 0, self.task_n))
        else:
            out += [("task", b, self.block_n) for b in range(self.blocks)]
        return [item for item in out if item[2] > 0]

    def images_per_rater(self) -> int:
        """Distinct images one rater sees (half real, half fake): no image repeats for a rater."""
        return sum(n for _, _, n in self.plan())

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Protocol":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def target_accuracy(down_ms: float, up_ms: float) -> float:
    """The accuracy where a weighted up-down staircase settles: p * down = (1 - p) * up."""
    return up_ms / (up_ms + down_ms)


def next_exposure(current_ms: int, correct: bool, protocol: Protocol) -> int:
    """Harder after a correct answer (shorter by down_ms), easier after an error (longer by up_ms)."""
    step = -protocol.down_ms if correct else protocol.up_ms
    return int(min(protocol.max_ms, max(protocol.min_ms, current_ms + step)))


def staircase(correct: list[bool], protocol: Protocol) -> list[int]:
    """The exposure requested at each trial of one block, given the answers so far (len(correct) + 1)."""
    exposures = [protocol.start_ms]
    for answer in correct:
        exposures.append(next_exposure(exposures[-1], bool(answer), protocol))
    return exposures


def mode_exposure(exposures: list[int]) -> float:
    """The most frequent exposure of a staircase (paper, "HYPE_time"); ties (the paper does not say) average."""
    if not exposures:
        raise ValueError("a staircase with no trials has no mode")
    counts = Counter(exposures)
    top = max(counts.values())
    tied = [value for value, count in counts.items() if count == top]
    return sum(tied) / len(tied)
