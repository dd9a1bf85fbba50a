"""benchmarks/scratch_speed.py: every loss path it times runs a real step and reports a throughput."""


import pytest

from .helpers.bench import load

scratch_speed = load("scratch_speed")


@pytest.mark.parametrize("mode", ["fp32", "fp32-tokenloss", "fp32-focal", "fp32-padded"])
def test_each_mode_times_real_steps(mode):
    every, counted = scratch_speed.run(mode, "tiny", 200, 2, 1, 0)  # padded rows: 50-200 tokens and one of 60
    assert every > 0 and 0 < counted <= every
