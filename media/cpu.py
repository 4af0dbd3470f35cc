"""The CPU this process runs on, from /proc/cpuinfo (Linux; empty elsewhere)."""
from __future__ import annotations

import functools


@functools.cache
def cpu_fields() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo ("model name", "model", "flags", ...);
    {} where the file is absent."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if not line.strip():
                    break  # the first processor's block is enough
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def has_avx512() -> bool:
    """Whether the CPU advertises AVX-512 (its foundation set, avx512f)."""
    return "avx512f" in cpu_fields().get("flags", "").split()
