"""Settings of the policy and of its supervised training, as dataclasses (no torch import here).

The `train-sft` command builds its options from these fields and their docstrings (`SFTConfig`
extends `agents.config.RunConfig`: out, seed, threads, device).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from agents.config import CURRICULA, EXCLUDED_SUITES, RunConfig
from xlogo_gym.errors import XLogoError


@dataclass
class ModelConfig:
    """Architecture of the policy."""

    hidden_size: int = 256
    """width of the from-scratch Llama"""
    layers: int = 4
    """transformer blocks of the from-scratch Llama"""
    heads: int = 8
    """attention heads of the from-scratch Llama"""
    intermediate_size: int = 768
    """SwiGLU width of the from-scratch Llama"""
    max_positions: int = 256
    """longest sequence (prompt + program) of the from-scratch Llama"""
    dropout: float = 0.0
    """attention dropout of the from-scratch Llama"""
    turtle_state: bool = True
    """from-scratch model: program positions also carry the turtle's cell and heading (execution-guided)"""
    execution_state: bool = True
    """from-scratch model: program positions also carry the emulator's progress (goal met, left to do, budget)"""
    base_model: str | None = None
    """local path of a pretrained causal LM (then the task is read as its text prompt)"""
    lora_rank: int = 0
    """> 0: train LoRA adapters of this rank on the pretrained LM instead of all its weights"""
    lora_alpha: int = 16
    """LoRA scaling numerator"""
    lora_dropout: float = 0.05
    """LoRA dropout"""

    @classmethod
    def from_dict(cls, obj: dict[str, Any], where: str = "model") -> ModelConfig:
        """From a checkpoint's `model` object; unknown keys are ignored, values of the wrong type or out of range
        raise XLogoError naming `where` and the field."""
        known = {f.name: f for f in fields(cls)}
        values = {k: v for k, v in obj.items() if k in known}
        values.setdefault("execution_state", False)  # checkpoints from before execution_state existed
        for name, value in values.items():
            default: Any = known[name].default
            if name == "base_model":
                ok = value is None or isinstance(value, str)
            elif isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool) and \
                    value >= (0 if name in ("lora_rank", "lora_alpha") else 1)
            else:  # a dropout probability
                ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1
            if not ok:
                raise XLogoError(f"field {name!r} has a bad value {value!r}", where)
        config = cls(**values)
        if config.hidden_size % config.heads:
            raise XLogoError(f"hidden_size {config.hidden_size} is not a multiple of heads {config.heads}", where)
        return config


@dataclass
class SFTConfig(RunConfig):
    """Settings of one supervised run (every field is a `train-sft` option)."""

    out: str = "runs/sft"
    """output directory: exported policy, resume.pt, TensorBoard logs (tb/)"""
    data: list[str] = field(default_factory=list)
    """JSONL files or directories of generator shards; empty: generate `generate` tasks"""
    generate: int = 100_000
    """tasks to generate in-process when no data is given"""
    limit: int | None = None
    """use at most this many records of the data"""
    init_from: str | None = None
    """policy checkpoint (name or directory) whose weights start a new run; words it lacks start at zero"""
    exclude_suites: list[str] = field(default_factory=lambda: list(EXCLUDED_SUITES))
    """suites whose worlds are kept out of the training data"""
    seed: int = 0
    """seed of data generation, initialisation, sampling and the held-out split"""
    steps: int = 6000
    """optimizer steps"""
    batch_size: int = 64
    """examples per step"""
    lr: float = 1e-3
    """peak learning rate"""
    min_lr_ratio: float = 0.1
    """final learning rate as a fraction of the peak (cosine decay)"""
    warmup_steps: int = 200
    """linear warm-up steps"""
    weight_decay: float = 0.01
    """AdamW weight decay"""
    grad_clip: float = 1.0
    """gradient-norm clip"""
    heldout: int = 512
    """examples held out of training to measure success with the emulator"""
    eval_every: int = 500
    """steps between held-out evaluations"""
    checkpoint_minutes: float = 5.0
    """minutes between checkpoints (resume.pt and the exported policy)"""
    time_limit_minutes: float | None = None
    """stop (with a checkpoint) after this many minutes of this invocation"""
    curriculum: str = "uniform"
    """data sampling: uniform, or emulator (resample towards failing families every round)"""
    rounds: int = 4
    """training rounds (the emulator curriculum resamples between rounds)"""
    pool: int = 2048
    """training tasks the emulator curriculum runs the model on after each round"""
    curriculum_mix: float = 0.5
    """share of the sampling probability that follows the failure rates"""
    model: ModelConfig = field(default_factory=ModelConfig)
    """architecture"""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.curriculum not in CURRICULA:
            raise XLogoError(f"must be one of {', '.join(CURRICULA)}, got {self.curriculum!r}", "curriculum")
        for name in ("steps", "batch_size", "rounds", "heldout", "eval_every"):
            if getattr(self, name) < 1:
                raise XLogoError(f"must be at least 1, got {getattr(self, name)}", name)
        if not 0 <= self.curriculum_mix <= 1:
            raise XLogoError(f"must be in 0..1, got {self.curriculum_mix}", "curriculum_mix")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
