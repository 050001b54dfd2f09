"""What the HBAE's switches (models/hbae.py) may be set to: each value that cannot work is refused with an error naming
the switch, what it got and what to set instead. These checks read the settings alone; those that need a built part (a
critic with features, a noise prior that is fitted, a generator left with no loss) stay with the model."""

from __future__ import annotations

from hbaezoo.errors import ConfigError
from hbaezoo.models.matching import MATCHINGS

REGULARISED_PARTS = ("encoder", "generator")


def regularised_parts(regulariser_trains: str | tuple[str, ...] | dict[str, float]) -> dict[str, float]:
    """`regulariser_trains` as {part: scale of R's weight}: a part name or a tuple of them trains at R's own weight."""
    if isinstance(regulariser_trains, str):
        regulariser_trains = (regulariser_trains,)
    if not isinstance(regulariser_trains, dict):
        regulariser_trains = {part: 1.0 for part in regulariser_trains}
    return {str(k): float(v) for k, v in regulariser_trains.items()}


def check_settings(owner: str, *, has_regulariser: bool, regulariser_trains: dict[str, float], regulariser_match: float,
                   regulariser_views: float, regulariser_noise: float, subset_codes: float, views_within_set: bool,
                   matching: str, match_draws: int, **weights: float) -> None:
    """Raise ConfigError for the first setting of model `owner` that cannot work; `weights` are the loss weights
    (code_consistency, sleep, adversarial_weight, ...), each a finite number >= 0."""
    unknown = sorted(set(regulariser_trains) - set(REGULARISED_PARTS))
    if unknown:
        raise ConfigError(
            f"{owner}.regulariser_trains: {unknown} are not parts it can train; "
            f"choose among {REGULARISED_PARTS}, e.g. `models.hbae.regulariser_trains = ('encoder', 'generator')`."
        )
    if not 0.0 <= regulariser_match <= 1.0:
        raise ConfigError(f"{owner}.regulariser_match must be in [0, 1] (the share of R on matched "
                          f"draws), got {regulariser_match!r}.")
    if not 0.0 <= regulariser_views <= 1.0 - regulariser_match:
        raise ConfigError(f"{owner}.regulariser_views must be in [0, 1 − regulariser_match] (the "
                          f"share of R on reconstructions from inferred views; with regulariser_match = "
                          f"{regulariser_match!r} at most {1.0 - regulariser_match!r}), got {regulariser_views!r}.")
    if regulariser_views and (not has_regulariser or not regulariser_trains.get("encoder")):
        raise ConfigError(f"{owner}.regulariser_views = {regulariser_views!r}: the views are read "
                          f"by a head that only R trains, through the encoder; give the model a regulariser and "
                          f"keep 'encoder' in regulariser_trains, or set regulariser_views = 0.")
    if (regulariser_match or regulariser_views) and regulariser_noise:
        raise ConfigError(f"{owner}: regulariser_noise and regulariser_match / regulariser_views all "
                          f"say which draws R compares; set one of them (the others to 0).")
    for name, value in weights.items():
        if not value >= 0 or value == float("inf"):  # also refuses NaN
            raise ConfigError(f"{owner}.{name} is a weight and must be a finite number >= 0, got {value!r}.")
    if not 0.0 <= subset_codes <= 1.0:
        raise ConfigError(f"{owner}.subset_codes is the share of training steps whose codes are read "
                          f"from part of each set, in [0, 1], got {subset_codes!r}.")
    if views_within_set and not regulariser_views:
        raise ConfigError(f"{owner}.views_within_set = True says how views are read, and this model "
                          f"reads none (regulariser_views = 0); set regulariser_views > 0 or leave it False.")
    if matching not in MATCHINGS:
        raise ConfigError(f"{owner}.matching must be one of {MATCHINGS}, got {matching!r}.")
    if not (isinstance(match_draws, int) and not isinstance(match_draws, bool) and match_draws >= 1):
        raise ConfigError(f"{owner}.match_draws is how many draws per element the matched part of R "
                          f"pairs a set with, a whole number >= 1, got {match_draws!r}.")
    if (matching, match_draws) != ("nearest", 1) and not regulariser_match:
        raise ConfigError(f"{owner}: matching = {matching!r} and match_draws = {match_draws!r} only "
                          f"act on the matched part of R, and regulariser_match is {regulariser_match!r}: give R a "
                          f"share on matched draws (e.g. regulariser_match = 0.5) or leave them at matching = "
                          f"'nearest', match_draws = 1.")
