"""The allocator tuning `newsbrief run` applies before its threads start."""

from __future__ import annotations

import platform

import pytest

from bot.runtime.memory import tune_allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_accepts_the_arena_cap_and_the_fixed_mmap_threshold() -> None:
    assert tune_allocator() is True
