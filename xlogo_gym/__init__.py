"""xlogo-gym: the XLogoOnline-Mini world, its exact emulator, task suites and a Gymnasium env."""

from __future__ import annotations

from xlogo_gym.benchmark import download_benchmark
from xlogo_gym.emulator import Verdict, execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.generator import GeneratedTask, GeneratorConfig, generate_task, generate_tasks, is_heldout
from xlogo_gym.program import Command, Program, Repeat
from xlogo_gym.suite import SuiteEntry, load_reference_suite, load_suite
from xlogo_gym.task import Task
from xlogo_gym.world import World

__all__ = ["Command", "GeneratedTask", "GeneratorConfig", "Program", "Repeat", "SuiteEntry", "Task", "Verdict",
           "World", "XLogoError", "download_benchmark", "execute", "generate_task", "generate_tasks", "is_heldout",
           "load_reference_suite", "load_suite"]
__version__ = "0.1.0"

try:  # the core works without gymnasium; the env ids need it
    import gymnasium  # noqa: F401
except ImportError:
    pass
else:
    from xlogo_gym.envs import register_envs

    register_envs()
