"""The transformer policy: tokenizer, grammar-masked KV-cached decoding, checkpoints, SFT, the agent.

Models are tiny and trained for a few dozen steps; the pretrained-LM path uses a randomly
initialised Llama and a word-level tokenizer built here (no download).
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="needs torch: pip install \"xlogo-gym[train]\"")

import json
import os

import numpy as np
import torch

from agents.policy.agent import PolicyAgent, load_agent
from agents.policy.config import ModelConfig, SFTConfig
from agents.policy.curriculum import failure_rates, sampling_weights, task_families
from agents.policy.data import Example, collate, encode_example, legal_table, load_examples
from agents.policy.decode import Decoded, _left_padded, _sequence, best_of_k, decode, select_verified
from agents.policy.model import (
    CachedDecoder,
    LlamaDecoder,
    _Chunk,
    build_policy,
    init_from_checkpoint,
    load_policy,
    save_policy,
)
from agents.policy.tokenizer import BAG_WIDTH, EMPTY, DomainTokenizer, turtle_after
from agents.policy.train_sft import success_rate, train_sft
from xlogo_gym import Program, Task, XLogoError, execute, load_suite
from xlogo_gym.emulator import constraint_failures
from xlogo_gym.encoding import encode_task
from xlogo_gym.evaluation import AgentFailure
from xlogo_gym.grammar import END, N_ACTIONS, ProgramWriter

torch.set_num_threads(1)
TINY = ModelConfig(hidden_size=64, layers=2, heads=4, intermediate_size=128, max_positions=128)
#: The four moves from the centre of a 3x3 grid (turtle facing north) to a neighbouring strawberry.
ROUTES = {(1, 0): "fd", (2, 1): "rt\nfd", (0, 1): "lt\nfd", (1, 2): "bk"}


def grid_task(target: tuple[int, int], constraints: object = (), item: str = "strawberry") -> Task:
    tiles = [{"x": x, "y": y, "allowed": True, "walls": {}} for y in range(3) for x in range(3)]
    color = {"strawberry": "red", "lemon": "yellow"}[item]
    return Task.from_json({
        "turtle": {"x": 1, "y": 1, "direction": 0}, "tiles": tiles, "lines": [],
        "items": [{"x": target[0], "y": target[1], "name": item, "color": color, "count": 1}],
        "goal": [{"name": "find", "specs": [[[{"name": item, "neg": 0}]]]}],
        "constraints": list(constraints)})


def trivial_suite() -> list[Example]:
    """Find the strawberry or the lemon next to the turtle: 8 tasks, each solved by 1-2 blocks."""
    pairs = [(grid_task(t, item=item), Program.parse(text)) for t, text in ROUTES.items()
             for item in ("strawberry", "lemon")]
    return [Example(task, program, task_families(task, program)) for task, program in pairs]


def constrained_suite() -> list[Example]:
    """The strawberry tasks under `start_by rt`, solved by a full turn first."""
    pairs = [(grid_task(t, [{"start_by": ["rt"]}]), Program.parse("rt\nrt\nrt\nrt\n" + text))
             for t, text in ROUTES.items()]
    return [Example(task, program, task_families(task, program)) for task, program in pairs]


@pytest.fixture(scope="module")
def tiny() -> object:
    torch.manual_seed(0)
    return build_policy(TINY).eval()


def test_domain_tokenizer_puts_each_cell_in_one_bag() -> None:
    task = grid_task((1, 0))
    prompt = DomainTokenizer().encode(task)
    enc = encode_task(task)
    cell_words = enc.cells[: enc.length]
    assert len(prompt) == enc.length - len(cell_words[cell_words > 0]) + 9  # 9 cells, one position each
    bagged = sorted(prompt.ids[prompt.ids != EMPTY].tolist())
    assert bagged == sorted(enc.tokens[: enc.length].tolist())  # every word once
    assert sorted(set(prompt.cells.tolist()) - {0}) == sorted(set(cell_words.tolist()) - {0})
    turtle_bag = prompt.ids[list(prompt.cells).index(1 + 1 * 8 + 1)]
    assert DomainTokenizer().vocab.index("turtle:north") in turtle_bag


def test_program_positions_carry_the_turtle_state() -> None:
    task = grid_task((1, 0))
    assert turtle_after(task, Program.parse("rt\nfd")) == (1 + 1 * 8 + 2, 1)  # (2, 1) facing east
    assert turtle_after(task, Program.parse("fd\nfd\nlt")) == (1 + 0 * 8 + 1, 0)  # crash: stays at (1, 0)
    assert turtle_after(task, Program.parse("repeat(2){\n  lt\n}\nbk")) == (1 + 0 * 8 + 1, 2)
    tokenizer = DomainTokenizer()
    encoded = encode_example(tokenizer, Example(task, Program.parse("rt\nfd"), ()))
    east, north = tokenizer.vocab.index("turtle:east"), tokenizer.vocab.index("turtle:north")
    fed = encoded.ids[-3:, :2].tolist()  # <prog>, rt, fd: the state before each predicted token
    assert fed == [[tokenizer.prog_id, north], [int(tokenizer.action_ids[3]), east],
                   [int(tokenizer.action_ids[0]), east]]
    assert encoded.cells[-3:].tolist() == [1 + 8 + 1, 1 + 8 + 1, 1 + 8 + 2]
    plain = encode_example(DomainTokenizer(turtle_state=False), Example(task, Program.parse("rt\nfd"), ()))
    assert (plain.ids[-3:, 1:] == EMPTY).all() and (plain.cells[-3:] == 0).all()


def test_program_positions_carry_the_execution_state() -> None:
    task = grid_task((2, 1), [{"at_most": {"all": 3}}])
    tokenizer = DomainTokenizer(execution_state=True)
    words = [[tokenizer.vocab[i] for i in bag[2:]]
             for bag, _ in (tokenizer.program_position(0, tokenizer.encode(task), Program.parse(text))
                            for text in ("", "rt", "rt\nfd", "fd\nfd"))]
    assert words == [["left:1", "budget:3"], ["left:1", "budget:2"], ["state:goal-met", "left:0", "budget:1"],
                     ["state:crashed", "left:1", "budget:1"]]
    assert tokenizer.vocab[: DomainTokenizer().vocab_size] == DomainTokenizer().vocab  # old ids are kept
    with pytest.raises(XLogoError, match="turtle_state"):
        DomainTokenizer(turtle_state=False, execution_state=True)


def test_a_checkpoint_without_execution_state_starts_one_with_it(tmp_path: object) -> None:
    torch.manual_seed(0)
    old = build_policy(ModelConfig(**{**TINY.__dict__, "execution_state": False})).eval()
    save_policy(old, str(tmp_path))
    assert load_policy(str(tmp_path)).tokenizer.execution_state is False  # type: ignore[attr-defined]
    new = build_policy(TINY).eval()
    init_from_checkpoint(new, str(tmp_path))
    task = grid_task((1, 0))
    with torch.no_grad():  # the new words start at zero: the same outputs on the prompt
        a, b = (m(*_left_padded(m, [m.tokenizer.encode(task)])[:2]).logits for m in (old, new))
    assert torch.allclose(a, b, atol=1e-5)
    with pytest.raises(XLogoError, match="shape"):
        init_from_checkpoint(build_policy(ModelConfig(**{**TINY.__dict__, "hidden_size": 32, "heads": 2})),
                             str(tmp_path))


def test_decoding_is_always_grammatical_and_meets_constraints(tiny: object) -> None:
    tasks = [grid_task(t, [{"at_most": {"all": 2}}]) for t in ROUTES] + \
            [grid_task(t, [{"exactly": {"fd": 1}}, ]) for t in ROUTES] + [grid_task(t, [{"start_by": ["rt", "fd"]}])
                                                                         for t in ROUTES]
    prompts = [tiny.tokenizer.encode(t) for t in tasks]
    generator = torch.Generator().manual_seed(1)
    for temperature in (0.0, 3.0):
        decoded = decode(tiny, prompts * 2, temperature, constraints=[t.constraints.effective for t in tasks] * 2,
                         max_tokens=12, generator=generator)
        for task, d in zip(tasks * 2, decoded, strict=True):
            writer = ProgramWriter(12)
            for a in d.actions:
                assert writer.mask()[a]
                writer.write(a)
            assert writer.done and d.actions[-1] == END
            assert constraint_failures(task.constraints.effective, d.program) == []
            assert np.isfinite(d.logprob) and d.logprob <= 0


def test_kv_cache_and_batching_do_not_change_the_result(tiny: object) -> None:
    prompts = [tiny.tokenizer.encode(grid_task(t)) for t in ROUTES] + \
              [tiny.tokenizer.encode(e.task) for e in load_suite("mini-85")[:6]]
    cached = decode(tiny, prompts, max_tokens=16)
    uncached = decode(tiny, prompts, max_tokens=16, use_cache=False)
    single = [decode(tiny, [p], max_tokens=16)[0] for p in prompts]
    assert [d.actions for d in cached] == [d.actions for d in uncached] == [d.actions for d in single]
    assert np.allclose([d.logprob for d in cached], [d.logprob for d in single], atol=1e-3)
    assert np.allclose([d.logprob for d in cached], [d.logprob for d in uncached], atol=1e-4)


@pytest.mark.parametrize("compact", [0.0, 2.0])  # finished rows leave their chunk at once / never
def test_the_llama_decoder_computes_what_the_transformers_forward_does(tiny: object, compact: float,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    assert LlamaDecoder.applies(tiny)
    monkeypatch.setattr(LlamaDecoder, "CHUNK_ROWS", 3)  # several chunks,
    monkeypatch.setattr(LlamaDecoder, "BLOCK", 40)  # several blocks of prompts,
    monkeypatch.setattr(LlamaDecoder, "MERGE_ROWS", 5)  # chunks merged,
    monkeypatch.setattr(_Chunk, "GROW", 2)  # capacity grown
    monkeypatch.setattr(_Chunk, "COMPACT", compact)
    prompts = [tiny.tokenizer.encode(grid_task(t)) for t in ROUTES] + \
              [tiny.tokenizer.encode(e.task) for e in load_suite("mini-85")[:6]]
    sequences = [_sequence(tiny, p) for p in sorted(prompts, key=len)]
    rng = np.random.default_rng(0)
    for copies in (1, 2):
        fast, generic = LlamaDecoder(tiny), CachedDecoder(tiny)
        with torch.no_grad():
            a, b = fast.start(sequences, copies, 12), generic.start(sequences, copies, 12)
            assert torch.allclose(a, b, atol=1e-5)
            rows = len(sequences) * copies
            for step in range(11):
                if step % 2 and rows > 1:  # some rows finish
                    keep = torch.as_tensor(np.sort(rng.choice(rows, rows - rng.integers(1, 4), replace=False)))
                    fast.keep(keep)
                    generic.keep(keep)
                    rows = len(keep)
                ids = torch.full((rows, BAG_WIDTH), EMPTY)
                ids[:, 0] = tiny.action_ids[torch.as_tensor(rng.integers(0, N_ACTIONS, rows))]
                ids[:, 1] = torch.as_tensor(rng.integers(0, 20, rows))
                cells = torch.as_tensor(rng.integers(0, 30, rows))
                a, b = fast.step(ids, cells), generic.step(ids, cells)
                assert torch.allclose(a, b, atol=1e-5), step


def test_the_llama_decoder_reads_weights_changed_in_place() -> None:
    torch.manual_seed(1)
    model = build_policy(TINY).eval()
    sequences = [_sequence(model, model.tokenizer.encode(grid_task(t))) for t in ROUTES]
    LlamaDecoder(model).start(sequences)  # keeps the fused weights
    with torch.no_grad():  # as an optimizer step or load_state_dict does
        for p in model.lm.model.layers[0].parameters():
            p.mul_(1.5)
    assert torch.allclose(LlamaDecoder(model).start(sequences), CachedDecoder(model).start(sequences), atol=1e-5)


def test_decoding_emits_no_warnings(tiny: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import logging
    import warnings

    from transformers.utils import logging as hf_logging

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    root = hf_logging.get_logger()
    root.addHandler(handler)
    if hasattr(hf_logging.warning_once, "cache_clear"):  # it warns once per process: forget earlier warnings
        hf_logging.warning_once.cache_clear()
    prompts = [tiny.tokenizer.encode(grid_task(t)) for t in ROUTES]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for use_cache in (True, False):
                decode(tiny, prompts, [0.0, 2.0] * len(prompts), max_tokens=8, copies=2, use_cache=use_cache)
            monkeypatch.setattr(LlamaDecoder, "applies", staticmethod(lambda model: False))  # the generic forward
            decode(tiny, prompts, [0.0, 2.0] * len(prompts), max_tokens=8, copies=2)
    finally:
        root.removeHandler(handler)
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in records] == []


def test_copies_share_the_prompt_and_decode_as_separate_rows(tiny: object) -> None:
    prompts = [tiny.tokenizer.encode(grid_task(t)) for t in ROUTES]
    greedy = decode(tiny, prompts, max_tokens=16)
    for use_cache in (True, False):
        copied = decode(tiny, prompts, max_tokens=16, copies=3, use_cache=use_cache)
        assert [d.actions for d in copied] == [d.actions for d in greedy for _ in range(3)]
    temps = [0.0, 2.0, 2.0] * len(prompts)
    drawn = decode(tiny, prompts, temps, max_tokens=16, copies=3, generator=torch.Generator().manual_seed(0))
    assert [d.actions for d in drawn[::3]] == [d.actions for d in greedy]
    assert len({d.actions for d in drawn}) > len(prompts)  # the sampled copies differ


def test_checkpoint_round_trip(tiny: object, tmp_path: object) -> None:
    save_policy(tiny, str(tmp_path), {"note": "test"})
    assert sorted(os.listdir(tmp_path)) == ["config.json", "model.safetensors", "tokenizer.json"]
    loaded = load_policy(str(tmp_path))
    batch = collate([encode_example(tiny.tokenizer, e) for e in trivial_suite()])
    with torch.no_grad():
        a, b = tiny(batch["ids"], batch["cells"]), loaded(batch["ids"], batch["cells"])
    assert torch.equal(a.logits, b.logits) and torch.equal(a.values, b.values)
    assert json.loads((tmp_path / "config.json").read_text())["training"] == {"note": "test"}
    (tmp_path / "model.safetensors").write_bytes(b"junk")
    with pytest.raises(XLogoError, match="model.safetensors"):
        load_policy(str(tmp_path))
    with pytest.raises(XLogoError, match="no policy checkpoint"):
        load_agent(str(tmp_path / "missing"))


def test_a_named_policy_that_does_not_ship_says_so(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("agents.policy.checkpoint.CHECKPOINTS", tmp_path)  # no checkpoint ships here
    with pytest.raises(XLogoError, match="no `ppo` policy ships .* train-ppo"):
        load_agent("ppo")


def _edit_config(directory: str, edit: object) -> None:
    path = os.path.join(directory, "config.json")
    with open(path, encoding="utf-8") as fh:
        config = json.load(fh)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(edit(config), fh)  # type: ignore[operator]


def _model(**changes: object) -> object:
    return lambda c: {**c, "model": {**c["model"], **changes}}


@pytest.mark.parametrize("damage, where", [
    (lambda d: (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:5000]),
     "model.safetensors: "),
    (lambda d: (d / "model.safetensors").write_bytes(b""), "model.safetensors: "),
    (lambda d: _edit_config(str(d), lambda c: [c]), "config.json: expected an object"),
    (lambda d: _edit_config(str(d), lambda c: {k: v for k, v in c.items() if k != "model"}), "config.json: needs"),
    (lambda d: _edit_config(str(d), _model(hidden_size="64")), "config.json: field 'hidden_size'"),
    (lambda d: _edit_config(str(d), _model(layers=-1)), "config.json: field 'layers'"),
    (lambda d: _edit_config(str(d), _model(heads=5)), "config.json: hidden_size 64 is not a multiple"),
    (lambda d: (_edit_config(str(d), _model(hidden_size=32, heads=2)),
                _edit_config(str(d), lambda c: {k: v for k, v in c.items() if k != "weights_sha256"})),
     "model.safetensors: weights do not fit"),
    (lambda d: (d / "config.json").write_bytes(b'{"\xff": 1}'), "config.json: not UTF-8"),
    (lambda d: (d / "tokenizer.json").write_text("[]"), "tokenizer.json: expected an object"),
])
def test_a_damaged_checkpoint_is_a_clear_error(tiny: object, tmp_path: object, damage: object, where: str) -> None:
    save_policy(tiny, str(tmp_path))
    damage(tmp_path)  # type: ignore[operator]
    with pytest.raises(XLogoError, match=where):
        load_policy(str(tmp_path))


def test_checkpoints_record_and_verify_the_weights_checksum(tiny: object, tmp_path: object) -> None:
    save_policy(tiny, str(tmp_path))
    assert len(json.loads((tmp_path / "config.json").read_text())["weights_sha256"]) == 64
    weights = bytearray((tmp_path / "model.safetensors").read_bytes())
    weights[len(weights) // 2] ^= 1  # one bit of one weight: still a finite number
    (tmp_path / "model.safetensors").write_bytes(bytes(weights))
    with pytest.raises(XLogoError, match="do not match the sha256"):
        load_policy(str(tmp_path))


def test_a_resume_file_is_read_without_running_code(tmp_path: object) -> None:
    from agents.policy.train_sft import RESUME_KEYS, _save_resume, load_resume_state

    marker = tmp_path / "ran"  # type: ignore[operator]

    class Evil:
        def __reduce__(self) -> tuple:
            return (open, (str(marker), "w"))

    path = str(tmp_path / "resume.pt")  # type: ignore[operator]
    torch.save({"config": Evil()}, path)  # what torch.load(weights_only=False) would run
    with pytest.raises(XLogoError, match="resume.pt: not a resume file"):
        load_resume_state(path, "cpu")
    assert not marker.exists()
    state = {key: None for key in RESUME_KEYS} | {"weights": np.full(4, 0.25), "torch_rng": torch.get_rng_state(),
                                                  "history": [{"step": 1, "heldout_success": 0.5}]}
    _save_resume(path, state)
    loaded = load_resume_state(path, "cpu")
    assert np.array_equal(loaded["weights"], state["weights"]) and loaded["history"] == state["history"]
    with open(path, "wb") as fh:
        fh.write(b"")
    with pytest.raises(XLogoError, match="resume.pt"):
        load_resume_state(path, "cpu")


def test_sft_saves_when_interrupted(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    import agents.policy.train_sft as sft

    config = SFTConfig(out=str(tmp_path), steps=30, batch_size=8, lr=3e-3, warmup_steps=2, heldout=1, eval_every=100,
                       threads=1, device="cpu", exclude_suites=[], model=TINY, checkpoint_minutes=100)
    calls = []
    loss = sft.sft_loss

    def interrupted_at_step_5(*args: object) -> object:
        calls.append(1)
        if len(calls) == 5:
            signal.raise_signal(signal.SIGTERM)
        return loss(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(sft, "sft_loss", interrupted_at_step_5)
    with pytest.raises(KeyboardInterrupt):
        train_sft(config, trivial_suite())
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and signal.getsignal(signal.SIGINT) is not None
    assert sft.load_resume_state(str(tmp_path / "resume.pt"), "cpu")["step"] == 5  # type: ignore[operator]
    monkeypatch.setattr(sft, "sft_loss", loss)
    assert train_sft(config, trivial_suite())["step"] == 30 and len(calls) == 5


def test_sft_learns_a_trivial_suite_and_resumes(tmp_path: object) -> None:
    examples = trivial_suite()
    assert len(examples) == 8
    config = SFTConfig(out=str(tmp_path), steps=200, batch_size=16, lr=3e-3, warmup_steps=5, heldout=1,
                       eval_every=100, threads=1, device="cpu", exclude_suites=[], model=TINY)
    torch.manual_seed(0)
    before = build_policy(TINY).eval()
    assert np.mean(success_rate(before, examples)) <= 0.25
    result = train_sft(config, examples)
    assert result["step"] == 200 and result["finished"]
    trained = load_policy(str(tmp_path))
    assert np.mean(success_rate(trained, examples)) >= 0.75  # one of the 8 is held out
    logs = [f for f in os.listdir(tmp_path / "tb")]
    assert logs and os.path.exists(tmp_path / "resume.pt")
    # a longer run in the same directory continues from step 200
    resumed = train_sft(SFTConfig(**{**config.__dict__, "steps": 210}), examples)
    assert resumed["step"] == 210
    saved = json.loads((tmp_path / "config.json").read_text())["training"]
    assert [h["step"] for h in saved["history"]] == [100, 200, 210]


def test_sft_loss_falls_with_the_emulator_curriculum(tmp_path: object) -> None:
    examples = trivial_suite() + constrained_suite()
    config = SFTConfig(out=str(tmp_path), steps=60, batch_size=16, lr=3e-3, warmup_steps=5, heldout=2,
                       eval_every=30, threads=1, device="cpu", exclude_suites=[], curriculum="emulator",
                       rounds=2, pool=8, model=TINY)
    train_sft(config, examples)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    loss = [e.value for e in events.Scalars("train/loss")]
    assert loss[-1] < loss[0]
    assert "curriculum/pool_success" in events.Tags()["scalars"]
    assert {"eval/success", "train/token_accuracy", "charts/samples_per_s"} <= set(events.Tags()["scalars"])


def test_curriculum_weights_favour_failing_families() -> None:
    examples = trivial_suite() + constrained_suite()
    fams = [e.families for e in examples]
    assert all(f[0] == "goal:find" for f in fams)
    ok = [len(e.program) < 4 for e in examples]  # the model fails the constrained tasks
    weights = sampling_weights(examples, failure_rates(fams, ok), mix=0.8)
    assert weights.sum() == pytest.approx(1.0)
    hard = [w for w, good in zip(weights, ok, strict=True) if not good]
    easy = [w for w, good in zip(weights, ok, strict=True) if good]
    assert min(hard) > max(easy)
    assert np.allclose(sampling_weights(examples, None, 0.8), 1 / len(examples))
    assert "length:1-3" in task_families(examples[0].task, examples[0].program)


def test_agent_proposes_and_verifies(tiny: object) -> None:
    tasks = [grid_task(t) for t in ROUTES]
    huge = Task.from_json({**grid_task((1, 0)).to_json(), "tiles": [
        {"x": x, "y": y, "allowed": True, "walls": {}} for x in range(9) for y in range(2)]})
    agent = PolicyAgent(tiny, best_of=1, temperature=1.0)
    out = agent.propose([*tasks, huge], samples=3)
    assert [len(c) for c in out] == [3] * 5
    assert all(isinstance(c, Program) for c in out[0]) and isinstance(out[-1][0], AgentFailure)
    greedy = decode(tiny, [tiny.tokenizer.encode(tasks[0])])[0].program
    assert out[0][0] == greedy  # the first candidate is the greedy one
    # best-of-k keeps a verified program: never worse than its first (greedy) candidate
    picks = best_of_k(tiny, tasks, k=12, temperature=2.0)
    greedy_ok = [execute(t, d.program).success for t, d in zip(tasks, decode(tiny, [
        tiny.tokenizer.encode(t) for t in tasks], constraints=[t.constraints.effective for t in tasks]), strict=True)]
    assert all(execute(t, p.program).success for t, p, ok in zip(tasks, picks, greedy_ok, strict=True) if ok)
    wrong, right = Decoded((END,), Program(), -0.1), Decoded((0, END), Program.parse("fd"), -5.0)
    assert select_verified(tasks[0], [wrong, right]) is right
    assert select_verified(tasks[1], [wrong, right]) is wrong  # none verified: the likeliest


def test_sampled_candidates_depend_only_on_the_seed_and_the_task(tiny: object, tmp_path: object) -> None:
    from xlogo_gym.evaluation import evaluate
    from xlogo_gym.suite import SuiteEntry

    tasks = [grid_task(t, item=item) for t in ROUTES for item in ("strawberry", "lemon")]
    texts = lambda out: [[str(c) for c in cands] for cands in out]  # noqa: E731
    whole = texts(PolicyAgent(tiny, temperature=2.0, seed=5).propose(tasks, samples=6))
    assert any(len(set(cands)) > 1 for cands in whole)  # they are sampled
    one_by_one = [texts(PolicyAgent(tiny, temperature=2.0, seed=5, batch_size=6).propose([t], samples=6))[0]
                  for t in reversed(tasks)]
    assert one_by_one[::-1] == whole
    assert texts(PolicyAgent(tiny, temperature=2.0, seed=6).propose(tasks, samples=6)) != whole
    # an evaluation cut short and resumed gives the figures of an uninterrupted one, at any batch size
    entries = [SuiteEntry(f"t{i}", t, None, []) for i, t in enumerate(tasks)]
    full = evaluate(PolicyAgent(tiny, temperature=2.0, seed=5), entries, 6, str(tmp_path / "a"), batch_size=8,
                    progress=False, chart=False)
    evaluate(PolicyAgent(tiny, temperature=2.0, seed=5), entries[:3], 6, str(tmp_path / "b"), batch_size=2,
             progress=False, chart=False)
    resumed = evaluate(PolicyAgent(tiny, temperature=2.0, seed=5), entries, 6, str(tmp_path / "b"), batch_size=3,
                       progress=False, chart=False)
    assert [r["candidates"] for r in resumed.tasks] == [r["candidates"] for r in full.tasks]


def test_loading_examples_verifies_programs(tmp_path: object) -> None:
    task = grid_task((1, 0), item="lemon")
    heldout = grid_task((1, 0))  # its world is in the generator's evaluation-only bucket
    lines = [{"task": task.to_json(), "program": {"text": "fd\n"}},
             {"task": grid_task((2, 1)).to_json(), "program": "fd\n"},  # wrong: dropped
             {"task": grid_task((0, 1)).to_json(), "code": {"run": [{"type": "lt"}, {"type": "fd"}]}},
             {"task": task.to_json(), "code_text": "fd\n"},  # duplicate task: dropped
             {"task": heldout.to_json(), "code_text": "fd\n"}]  # held out: dropped
    path = tmp_path / "shard.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    examples = load_examples([str(tmp_path)])
    assert [str(e.program) for e in examples] == ["fd\n", "lt\nfd\n"]
    path.write_text("{not json\n")
    with pytest.raises(XLogoError, match="shard.jsonl:1"):
        load_examples([str(path)])


def test_training_masks_match_the_grammar() -> None:
    program = Program.parse("repeat(2){\n  rt\n}\nlt\nfd\n")
    encoded = encode_example(DomainTokenizer(), Example(grid_task((1, 0)), program, ()))
    table = legal_table()
    writer = ProgramWriter(10**6, 10**3)
    for target, row in zip(encoded.targets.tolist(), encoded.legal.tolist(), strict=True):
        assert torch.equal(table[row], torch.from_numpy(writer.mask().copy()))
        writer.write(target)
    assert writer.done


def test_pretrained_lm_path_with_lora(tmp_path: object) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from agents.policy.train_sft import sft_loss
    from xlogo_gym.prompt import task_prompt

    words = sorted({w for t in ROUTES for w in task_prompt(grid_task(t)).split()})
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(["[UNK]", *words])}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    base = tmp_path / "base"
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]").save_pretrained(base)
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(vocab_size=len(words) + 1, hidden_size=32, intermediate_size=64,
                                 num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2,
                                 max_position_embeddings=4096)).save_pretrained(base)
    config = ModelConfig(base_model=str(base), lora_rank=4)
    model = build_policy(config)
    assert model.tokenizer.kind == "text" and model.cell_embed is None
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora" in n or "token" in n or n.startswith("value_head") for n in trainable)
    examples = trivial_suite()
    batch = collate([encode_example(model.tokenizer, e) for e in examples])
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    legal = legal_table()
    losses = []
    for _ in range(15):
        loss, _ = sft_loss(model, batch, legal)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    model.eval()
    decoded = decode(model, [model.tokenizer.encode(e.task) for e in examples], max_tokens=8)
    assert all(d.actions[-1] == END for d in decoded)
    save_policy(model, str(tmp_path / "tuned"))
    size = os.path.getsize(tmp_path / "tuned" / "model.safetensors")
    assert size < sum(p.numel() * 4 for p in model.parameters())  # adapters only, not the base
    again = load_policy(str(tmp_path / "tuned"))
    assert [d.actions for d in decode(again, [again.tokenizer.encode(e.task) for e in examples], max_tokens=8)] \
        == [d.actions for d in decoded]


def test_train_sft_command_smoke(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from xlogo_gym.cli import main

    shard = tmp_path / "data" / "tasks.jsonl"
    shard.parent.mkdir()
    shard.write_text("".join(json.dumps({"task": e.task.to_json(), "program": {"text": str(e.program)}}) + "\n"
                             for e in trivial_suite()[1:]))  # the first task is a held-out world
    out = tmp_path / "run"
    code = main(["train-sft", "--data", str(shard.parent), "--exclude-suites", "--steps", "3", "--batch-size", "4",
                 "--heldout", "1", "--eval-every", "3", "--threads", "1", "--hidden-size", "32", "--layers", "1",
                 "--heads", "2", "--intermediate-size", "64", "--out", str(out)])
    assert code == 0
    assert json.loads(capsys.readouterr().out.split("\npolicy written")[0])["step"] == 3
    assert isinstance(load_agent(str(out)).propose([grid_task((2, 1))])[0][0], Program)
    assert main(["train-sft", "--curriculum", "sometimes", "--out", str(out)]) == 2
