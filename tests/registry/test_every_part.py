"""Every registered part — core or installed plugin — passes the property checks of its kind.

Parametrised over the registries at collection time, so a part is tested the day it is
registered, with sizes drawn by hypothesis.
"""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hbaezoo.registry import REGISTRIES, all_parts
from hbaezoo.testing import CHECKS, Sizes, check_part

sizes = st.builds(
    Sizes,
    batch=st.integers(2, 4),
    set_size=st.integers(1, 4),
    channels=st.sampled_from([1, 3]),
    resolution=st.sampled_from([8, 16]),
    feature_dim=st.integers(1, 16),
    z_dim=st.integers(1, 8),
    noise_dim=st.integers(1, 6),
    num_classes=st.integers(2, 5),
)

# Kinds whose parts are costly to build get fewer examples; their shapes vary less.
EXAMPLES = {"models": 3, "datasets": 1, "samplers": 2, "encoders": 4}


@pytest.mark.parametrize("part", all_parts(), ids=lambda p: p.gin_name)
def test_part_passes_its_kind_checks(part):
    if part.kind not in CHECKS:
        pytest.fail(f"kind '{part.kind}' has no property checks in hbaezoo.testing: add them")
    if part.kind == "datasets":
        check_part(part.kind, part.obj, Sizes(), name=part.gin_name)
        return

    @settings(max_examples=EXAMPLES.get(part.kind, 6), deadline=None,
              suppress_health_check=[HealthCheck.too_slow], derandomize=True)
    @given(s=sizes)
    def run(s):
        torch.manual_seed(0)
        check_part(part.kind, part.obj, s, name=part.gin_name)

    run()


def test_every_kind_has_parts_and_checks():
    kinds = {p.kind for p in all_parts()}
    assert kinds == set(REGISTRIES), f"kinds without a registered part: {sorted(set(REGISTRIES) - kinds)}"
    assert set(CHECKS) == set(REGISTRIES), f"kinds without property checks: {sorted(set(REGISTRIES) - set(CHECKS))}"
