"""The core's commands of `xlogo-gym`, one module per command (see `xlogo_gym.cli.CORE_COMMANDS`).

Each module holds the command's options (a dataclass) and the function that runs it; heavy
dependencies are imported inside the function.
"""
