"""Gymnasium environments. `register_envs()` runs on `import xlogo_gym` when gymnasium is installed.

    import gymnasium as gym
    import xlogo_gym  # registers the ids below

    env = gym.make("XLogo-Mini-v0")
    env = gym.make("XLogo-Mini-v0", suite="synthetic-1k", mask_constraints=True, reward="shaped")
    env = gym.make("XLogo-Mini-v0", tasks=[task_json, ...])
    env = gym.make("XLogo-MiniProg-v0")  # the 85 real tasks, after `xlogo-gym benchmark download`
    env = gym.make("XLogo-Mini-Level1-v0")  # difficulty levels 1..5 (see xlogo_gym.envs.levels)
    env = gym.make("XLogo-Mini-Generated-v0", level=2)  # the same as XLogo-Mini-Level2-v0
"""

from __future__ import annotations

from typing import Any

ENTRY_POINT = "xlogo_gym.envs.xlogo_mini:XLogoMiniEnv"
#: Registered ids and their constructor arguments (see XLogoMiniEnv).
ENV_CONFIGS: dict[str, dict[str, Any]] = {
    "XLogo-Mini-v0": {"suite": "mini-85"},
    "XLogo-Mini-Synthetic-v0": {"suite": "synthetic-1k"},
    "XLogo-Mini-Generated-v0": {"generator": {}},
    "XLogo-MiniProg-v0": {"suite": "xlogominiprog-85"},  # the real benchmark, once downloaded
    # difficulty levels for learning from scratch (xlogo_gym.envs.levels): generated tasks, level 1 easiest
    **{f"XLogo-Mini-Level{n}-v0": {"level": n} for n in range(1, 6)},
}
#: The wrappers of `xlogo_gym.envs.wrappers`, imported on first use.
WRAPPERS = ("ActionMaskObservation", "GridOneHot", "GridImage", "FlatOneHot")
__all__ = ["ENV_CONFIGS", "XLogoMiniEnv", "register_envs", *WRAPPERS]


def register_envs() -> None:
    """Register ENV_CONFIGS with gymnasium (ids already registered are left alone)."""
    from gymnasium.envs.registration import register, registry

    for env_id, kwargs in ENV_CONFIGS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=ENTRY_POINT, kwargs=kwargs)


def __getattr__(name: str) -> Any:
    """Import the env and wrappers on first use, so that registering stays cheap."""
    if name == "XLogoMiniEnv":
        from xlogo_gym.envs.xlogo_mini import XLogoMiniEnv

        return XLogoMiniEnv
    if name in WRAPPERS:
        from xlogo_gym.envs import wrappers

        return getattr(wrappers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
