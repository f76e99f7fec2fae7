"""xlogo-gym: the XLogoOnline-Mini world, its exact emulator, task suites and a Gymnasium env."""

from __future__ import annotations

from xlogo_gym.emulator import Verdict, execute
from xlogo_gym.errors import XLogoError
from xlogo_gym.program import Command, Program, Repeat
from xlogo_gym.suite import SuiteEntry, load_reference_suite
from xlogo_gym.task import Task
from xlogo_gym.world import World

__all__ = ["Command", "Program", "Repeat", "SuiteEntry", "Task", "Verdict", "World", "XLogoError",
           "execute", "load_reference_suite"]
__version__ = "0.1.0"
