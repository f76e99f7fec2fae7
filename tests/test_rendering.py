"""Pictures of tasks and runs: pixel colours, the run replay, GIF/PNG/MP4 output, text view and `play`."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import conformance_cases, needs

from xlogo_gym import Program, Task, XLogoError, execute
from xlogo_gym.cli import main
from xlogo_gym.play import PANEL, PlaySession
from xlogo_gym.rendering import (
    BACKGROUND,
    CELL,
    FORBIDDEN,
    FORBIDDEN_HATCH,
    ITEM_RGB,
    PEN_RGB,
    SUCCESS,
    TARGET_ALPHA,
    TURTLE_SHELL,
    WALL,
    glyph,
    render_ansi,
    render_frames,
    render_rgb,
    replay,
)

TILE = 48
MARGIN = TILE // 4
#: 3x3: a wall between (0,0) and (1,0), (2,0) forbidden, (0,2) missing, items, a white and a blue target line.
TASK = Task.from_json({
    "turtle": {"x": 1, "y": 1, "direction": 0},
    "tiles": [{"x": 0, "y": 0, "allowed": True, "walls": {"right": True}},
              {"x": 1, "y": 0, "allowed": True, "walls": {"left": True}},
              {"x": 2, "y": 0, "allowed": False, "walls": {}},
              *({"x": x, "y": 1, "allowed": True, "walls": {}} for x in range(3)),
              {"x": 1, "y": 2, "allowed": True, "walls": {}}, {"x": 2, "y": 2, "allowed": True, "walls": {}}],
    "items": [{"x": 2, "y": 2, "name": "lemon", "color": "yellow", "count": 1},
              {"x": 0, "y": 0, "name": "A", "color": "black", "count": 1},
              {"x": 1, "y": 2, "name": "strawberry", "color": "red", "count": 3},
              {"x": 0, "y": 1, "name": "circle", "color": "green", "count": 1}],
    "lines": [{"x1": 1, "y1": 1, "x2": 1, "y2": 0, "color": "#FFFFFF"},
              {"x1": 1, "y1": 1, "x2": 2, "y2": 1, "color": "#0D47A1"}],
    "goal": [{"name": "draw", "specs": [[]]}], "constraints": [{"at_most": {"all": 6}}]})
SOLUTION = "setpc(white) fd bk rt setpc(blue) fd"


def pixel(img: np.ndarray, x: float, y: float) -> tuple[int, ...]:
    """The colour at cell coordinates (x, y) in cell units (0.5, 0.5 is the centre of cell (0, 0))."""
    return tuple(int(v) for v in img[MARGIN + int(y * TILE), MARGIN + int(x * TILE)])


def test_the_picture_shows_cells_walls_items_turtle_and_targets() -> None:
    img = render_rgb(TASK, tile=TILE, text=False)
    assert img.dtype == np.uint8 and img.shape == (3 * TILE + 2 * MARGIN, 3 * TILE + 2 * MARGIN, 3)
    assert pixel(img, 2.5, 1.7) == CELL  # an empty allowed cell, off the target line
    assert pixel(img, 0.5, 2.5) == BACKGROUND and pixel(img, 0.05, 2.05) == BACKGROUND  # missing: not drawn
    forbidden = img[MARGIN + 4:MARGIN + TILE - 4, MARGIN + 2 * TILE + 4:MARGIN + 3 * TILE - 4].reshape(-1, 3)
    assert {FORBIDDEN, FORBIDDEN_HATCH} <= {tuple(int(v) for v in p) for p in forbidden}  # hatched grey
    assert pixel(img, 0.98, 0.5) == WALL and pixel(img, 1.02, 0.5) == WALL  # a two-sided wall, both halves
    assert pixel(img, 0.5, 1.5) == ITEM_RGB["green"]  # the circle
    assert pixel(img, 1.5, 2.55) == ITEM_RGB["red"]  # the strawberry's body
    assert pixel(img, 2.5, 2.5) == ITEM_RGB["yellow"]  # the lemon
    letter = img[MARGIN:MARGIN + TILE, MARGIN:MARGIN + TILE].reshape(-1, 3)
    assert (letter == ITEM_RGB["black"]).all(axis=1).sum() > 40  # the letter A
    assert pixel(img, 1.5, 1.5 + 0.2) == TURTLE_SHELL  # the shell, behind the pen dot (facing north)
    blue = np.round(np.array(CELL) * (1 - TARGET_ALPHA) + np.array(PEN_RGB["blue"]) * TARGET_ALPHA)
    assert pixel(img, 1.9, 1.5) == tuple(blue.astype(int))  # the faint target line


def test_a_run_draws_lines_in_pen_colours_and_moves_the_turtle() -> None:
    img = render_rgb(TASK, "setpc(red) rt fd", tile=TILE, text=False)
    assert pixel(img, 1.75, 1.5) == PEN_RGB["red"]  # drawn over the faint blue target
    assert pixel(img, 1.5, 1.7) != TURTLE_SHELL and pixel(img, 2.3, 1.5) == TURTLE_SHELL  # now on (2,1), east
    start = render_rgb(TASK, "setpc(red) rt fd", step=0, tile=TILE, text=False)
    assert pixel(start, 1.5, 1.7) == TURTLE_SHELL and pixel(start, 1.75, 1.5) != PEN_RGB["red"]


def test_a_crash_is_marked_and_the_verdict_is_written() -> None:
    with_text = render_rgb(TASK, "rt fd fd", tile=TILE)
    crash = (with_text == (210, 0, 0)).all(axis=2)
    assert crash[: 3 * TILE + 2 * MARGIN].any()  # the red cross on the grid
    assert crash[3 * TILE + 2 * MARGIN:].any()  # the red verdict line
    solved = render_rgb(TASK, SOLUTION, tile=TILE)
    assert (solved == SUCCESS).all(axis=2).any() and not (solved == (210, 0, 0)).all(axis=2).any()


def test_replay_agrees_with_the_emulator() -> None:
    cases = conformance_cases()[93:900]
    for case in cases:
        task, program = Task.from_json(case["task"]), Program.from_json(case["code"])
        verdict = execute(task, program)
        states, segments = replay(task, program)
        visited = [(states[0].x, states[0].y)] + [b for _, b, _ in segments]
        assert visited == verdict.trace, case["task"]["id"]
        picture = {}
        for a, b, pen in segments:
            picture[(min(a, b), max(a, b))] = ("black", "red", "green", "blue", "yellow", "white")[pen]
        assert picture == verdict.picture, case["task"]["id"]
        if verdict.crashed:
            assert len(states) == verdict.crash_step + 1


def test_frames_animate_the_run() -> None:
    frames = render_frames(TASK, SOLUTION, tile=TILE)
    assert len(frames) == 7 and len({f.shape for f in frames}) == 1
    assert not np.array_equal(frames[0], frames[2])
    thinned = render_frames(TASK, "repeat(12){ rt }", tile=TILE, max_frames=5)
    assert len(thinned) == 5 and np.array_equal(thinned[-1], render_rgb(TASK, "repeat(12){ rt }", tile=TILE))


def test_font_has_distinct_glyphs() -> None:
    shapes = {glyph(chr(c)).tobytes() for c in range(33, 127)}
    assert len(shapes) == 94 and glyph("A").shape == (7, 5)


def test_ansi_view() -> None:
    text = render_ansi(TASK)
    lines = text.splitlines()
    assert lines[1] == "  *A| .  ### " and lines[3] == "  O  ^.   .  " and lines[5].startswith("      S3  L")
    assert "Goal: draw exactly the target drawing" in text and "Rule: at most 6 blocks in total" in text
    after = render_ansi(TASK, SOLUTION)
    assert ">." in after and "Verdict: success" in after


@needs("PIL", "imageio")
def test_render_command_writes_png_gif_and_explains_mp4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    task_file = tmp_path / "task.json"
    task_file.write_text(json.dumps(TASK.to_json()))
    png = tmp_path / "run.png"
    assert main(["render", str(task_file), SOLUTION, "--out", str(png), "--tile", str(TILE)]) == 0
    assert "success" in capsys.readouterr().out
    image = np.asarray(Image.open(png).convert("RGB"))
    assert np.array_equal(image, render_rgb(TASK, SOLUTION, tile=TILE))
    x0 = (image.shape[1] - (3 * TILE + 2 * MARGIN)) // 2  # the grid is centred above the text
    assert tuple(image[MARGIN + int(2.15 * TILE), x0 + MARGIN + int(2.15 * TILE)]) == CELL  # a corner of (2, 2)
    assert tuple(image[MARGIN + int(1.5 * TILE), x0 + MARGIN + int(1.75 * TILE)]) == PEN_RGB["blue"]
    program_file = tmp_path / "prog.txt"
    program_file.write_text(SOLUTION.replace(" ", "\n"))
    gif = tmp_path / "run.gif"
    assert main(["render", str(task_file), str(program_file), "--out", str(gif), "--tile", str(TILE)]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == 7
    assert main(["render", str(task_file), "--out", str(tmp_path / "x.webp")]) == 2
    capsys.readouterr()
    assert main(["render", str(task_file), "--out", str(png), "--tile", str(TILE), SOLUTION]) == 0  # program last
    assert "success" in capsys.readouterr().out
    if importlib.util.find_spec("imageio_ffmpeg") is None and importlib.util.find_spec("av") is None:
        assert main(["render", str(task_file), "fd", "--out", str(tmp_path / "x.mp4")]) == 2
        assert "pip install imageio-ffmpeg" in capsys.readouterr().err
        assert not list(tmp_path.glob("*.mp4"))
    else:  # the [dev] and [video] extras bring imageio-ffmpeg
        assert main(["render", str(task_file), "--out", str(tmp_path / "x.mp4"), "fd"]) == 0
        assert (tmp_path / "x.mp4").stat().st_size > 0


def test_play_session_types_clicks_runs_and_judges() -> None:
    session = PlaySession([("demo", TASK, None), ("other", TASK, None)], tile=TILE)
    session.type("setpc(white) fd")
    width = session.frame().shape[1] - PANEL
    button = next(b for b in session.buttons if b.label == "bk")
    session.click(width + button.x + 2, button.y + 2, width)
    assert session.text == "setpc(white) fd\nbk\n"
    for block in ("rt", "setpc(blue)", "fd"):
        session.insert(block)
    session.run(now=0.0)
    assert session.verdict is not None and session.verdict.success and session.message[0].startswith("Solved")
    assert not np.array_equal(session.picture(now=0.0), session.picture(now=100.0))
    session.undo()
    assert session.text.endswith("setpc(blue)\n") and session.verdict is None
    session.insert("repeat(2){")
    session.run()
    assert session.message[0].startswith("Cannot run") and "never closed" in session.message[0]
    session.select(1)
    assert session.index == 1 and session.text == ""
    with pytest.raises(XLogoError):
        PlaySession([])


@needs("pygame")
def test_play_command_runs_headless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pygame

    task_file = tmp_path / "task.json"
    task_file.write_text(json.dumps(TASK.to_json()))
    keys = [pygame.event.Event(pygame.KEYDOWN, key=ord(c), unicode=c, mod=0) for c in "rt fd"]
    script = [keys, [pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, unicode="\r", mod=0)], [],
              [pygame.event.Event(pygame.QUIT)]]
    monkeypatch.setattr(pygame.event, "get", lambda: script.pop(0))
    assert main(["play", str(task_file), "--tile", "32"]) == 0
    assert not script


# -- frames of one shape, readable ---------------------------------------------------------------
def test_frames_have_one_shape_for_every_task_and_step() -> None:
    from xlogo_gym.rendering import frame_shape, render_frame
    from xlogo_gym.suite import load_suite

    shapes = set()
    for entry in load_suite("mini-85")[::8]:  # grids from 3x3 to 5x5
        shapes.add(render_frame(entry.task).shape)
        shapes.add(render_frame(entry.task, written="fd rt", status="Writing: 2 of 40 tokens").shape)
        shapes |= {f.shape for f in render_frames(entry.task, entry.program, fixed=True, max_frames=4)}
    assert shapes == {frame_shape()} == {(8 * 48, 8 * 48 + 280, 3)}


def test_a_small_grid_fills_the_frame() -> None:
    from xlogo_gym.rendering import FRAME_CELLS, render_frame

    frame = render_frame(TASK)
    side = FRAME_CELLS * 48
    grid = (frame[:, :side] != BACKGROUND).any(axis=2)
    rows, cols = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
    assert rows[-1] - rows[0] > 0.8 * side and cols[-1] - cols[0] > 0.8 * side  # 3x3 cells of ~110 px


def test_frames_and_gifs_show_the_program_text() -> None:
    from xlogo_gym.rendering import render_frame

    # both programs end where they start, facing north, drawing nothing: only the text differs
    a, b = render_rgb(TASK, "lt rt", tile=TILE), render_rgb(TASK, "rt lt", tile=TILE)
    grid_rows = 3 * TILE + 2 * MARGIN
    assert np.array_equal(a[:grid_rows], b[:grid_rows]) and not np.array_equal(a, b)
    fa, fb = render_frame(TASK, "lt rt"), render_frame(TASK, "rt lt")
    assert np.array_equal(fa[:, :384], fb[:, :384]) and not np.array_equal(fa, fb)
    assert not np.array_equal(render_frame(TASK, written="fd"), render_frame(TASK, written="bk"))


def test_the_turtle_leaves_the_item_it_stands_on_visible() -> None:
    on_lemon = Task.from_json({**TASK.to_json(), "turtle": {"x": 2, "y": 2, "direction": 0}})
    img = render_rgb(on_lemon, tile=TILE, text=False)
    assert pixel(img, 2.5, 2.5) == ITEM_RGB["yellow"]  # the lemon's centre is not covered
    corner = img[MARGIN + 2 * TILE:MARGIN + 2 * TILE + TILE // 2, MARGIN + 2 * TILE:MARGIN + 2 * TILE + TILE // 2]
    assert (corner.reshape(-1, 3) == TURTLE_SHELL).all(axis=1).any()  # a small turtle in the corner


def test_white_lines_are_outlined() -> None:
    from xlogo_gym.rendering import WHITE_OUTLINE

    img = render_rgb(TASK, "setpc(white) rt fd", tile=TILE, text=False)
    row = img[MARGIN + int(1.5 * TILE) - TILE // 6:MARGIN + int(1.5 * TILE) + TILE // 6, MARGIN + int(1.75 * TILE)]
    colours = {tuple(int(v) for v in p) for p in row}
    assert (255, 255, 255) in colours and WHITE_OUTLINE in colours


def test_crashes_are_described_by_where_the_turtle_went() -> None:
    from xlogo_gym.rendering import crash_words

    # (0, 2) is missing: the reference says FORBIDDEN_AREA, the picture says what it is
    verdict = execute(TASK, "lt fd lt fd")
    assert verdict.crash_reason == "FORBIDDEN_AREA"
    assert crash_words(TASK, verdict) == "crashed: moved into the missing cell (0,2) at action 3"
    assert "forbidden cell (2,0)" in crash_words(TASK, execute(TASK, "rt fd lt fd"))
    assert "left the grid" in crash_words(TASK, execute(TASK, "fd fd"))
    assert "hit a wall" in crash_words(TASK, execute(TASK, "fd lt fd"))
    assert "missing cell (0,2)" in render_ansi(TASK, "lt fd lt fd")


@needs("moviepy")
def test_record_video_records_whole_episodes(tmp_path: Path) -> None:
    import gymnasium as gym
    from gymnasium.wrappers import RecordVideo

    import xlogo_gym  # noqa: F401

    videos = tmp_path / "videos"
    env = RecordVideo(gym.make("XLogo-Mini-Level2-v0", render_mode="rgb_array"), str(videos),
                      episode_trigger=lambda _: True, disable_logger=True)
    rng = np.random.default_rng(0)
    _, info = env.reset(seed=0)
    episodes = 0
    while episodes < 4:  # tasks of different sizes, one video each
        _, _, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        if terminated or truncated:
            episodes += 1
            _, info = env.reset()
    env.close()
    assert len(list(videos.glob("*.mp4"))) >= 4  # moviepy refuses frames of different sizes
