"""``everturn train loop``: simulate, train, evaluate, deploy if better, repeat, unattended.

A cycle goes through five phases, each one finished before the state file says so:

1. ``simulate``: ``games`` two-house games by the five personalities and, once there is
   one, the deployed model (pinned to its version), written to ``runs/cycle-NNNNNN.jsonl``
   (through a ``.partial`` file: a killed simulation starts the cycle's games again, the
   same games from the same seeds);
2. ``train``: a job in ``jobs/cycle-NNNNNN/`` (``training.headless``) on those records,
   starting from the deployed model's weights if there is one; killed, it resumes from
   its last checkpoint;
3. ``evaluate``: duels against every personality, then registered as the next version;
4. ``deploy``: the gate (``Registry.deploy``): deployed only if it beats the deployed one;
5. ``rotate``: only the newest ``keep`` runs files and checkpoint folders stay, and the
   newest ``keep`` of the loop's models the gate refused (a model that passed is never
   deleted, so neither is the deployed one).

``WORK/loop.json`` (replaced atomically) holds the settings, the cycle, its phase, the
files made and still kept, and a line per finished cycle.  A loop started again with the
same settings goes on from the phase it was in; other settings are refused (``keep``,
``workers`` and the number of cycles may change).
"""
from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import orjson

from engine_ext.strategy_ai import PERSONALITIES
from snapshots.files import write_atomically

from .headless import Job, now
from .registry import LEARNED_PLAYERS, Registry, RegistryError, check_name
from .trainer import TrainSpec

SIM_SEED_BASE = 10_000_000     # the loop's maps: apart from evaluation (9,000+), gate (77,000+), self-play (5M+)
PHASES = ("simulate", "train", "evaluate", "deploy", "rotate")
HOUSES = 2


class LoopError(ValueError):
    """The loop cannot run as asked (bad settings, another loop's work folder)."""


class LoopStopped(Exception):
    """Asked to stop (SIGINT/SIGTERM): the state file says where to go on from."""


@dataclass(frozen=True)
class LoopConfig:
    name: str
    models: str                      # the registry
    train: dict[str, Any]            # TrainSpec fields (``data`` is each cycle's runs file)
    games: int = 200
    turns: int = 60
    rings: int = 3
    keep: int = 3
    workers: int = 2
    eval_games: int = 20

    def __post_init__(self) -> None:
        check_name(self.name)
        if not 1 <= self.games <= 1_000_000 or not 1 <= self.turns <= 1000:
            raise LoopError("--games is 1 to 1,000,000 and --turns 1 to 1,000")
        if self.keep < 1 or self.workers < 1 or self.eval_games < 1:
            raise LoopError("--keep, --workers and --eval-games are at least 1")
        from engine_ext.galaxy import generate

        generate(self.rings, HOUSES, 1)  # refuse a bad map size now
        self.spec(Path("."), 1)          # and bad training numbers

    def settings(self) -> dict[str, Any]:
        """What makes the loop's cycles what they are (a restart must bring the same)."""
        return {k: v for k, v in asdict(self).items() if k not in ("keep", "workers")}

    def spec(self, runs: Path, cycle: int) -> TrainSpec:
        return TrainSpec.of({**self.train, "data": str(runs), "seed": self.train["seed"] + cycle})

    def seed(self, cycle: int) -> int:
        return SIM_SEED_BASE + self.train["seed"] * 100_003 + (cycle - 1) * self.games


def open_state(work: Path, config: LoopConfig) -> dict[str, Any]:
    path = work / "loop.json"
    if path.exists():
        state = orjson.loads(path.read_bytes())
        if state["settings"] != config.settings():
            differ = sorted(k for k, v in config.settings().items() if state["settings"].get(k) != v)
            raise LoopError(f"{path} is a loop with other settings ({', '.join(differ)}); start it with its own "
                            f"or use another --work")
        return state
    state = {"settings": config.settings(), "cycle": 1, "phase": "simulate", "began": now(),
             "files": {"runs": [], "jobs": [], "models": []}, "cycles": []}
    save_state(work, state)
    return state


def save_state(work: Path, state: dict[str, Any]) -> None:
    write_atomically(work / "loop.json", orjson.dumps(state, option=orjson.OPT_INDENT_2))


def run_loop(config: LoopConfig, work: Path, cycles: int | None = None,
             should_stop: Callable[[], bool] = lambda: False, say: Callable[[str], None] = print,
             cycle_done: Callable[[dict[str, Any]], None] = lambda entry: None,
             progress: Callable[[int, str], Any] | None = None) -> dict[str, Any]:
    """Run cycles until cycle ``cycles`` is done (None: forever); the state at the end.
    Raises ``LoopStopped`` when ``should_stop`` says so (between phases, or at a training step)."""
    work = Path(work)
    state = open_state(work, config)
    registry = Registry(config.models)
    if state["cycle"] > 1 or state["phase"] != "simulate":
        say(f"loop {work}: going on with cycle {state['cycle']} at {state['phase']}")
    while cycles is None or state["cycle"] <= cycles:
        cycle = state["cycle"]
        tag = f"cycle {cycle}"
        runs, folder = f"runs/cycle-{cycle:06d}.jsonl", f"jobs/cycle-{cycle:06d}"
        if should_stop():
            raise LoopStopped(f"stopped before {tag} {state['phase']}")
        if state["phase"] == "simulate":
            began = time.monotonic()
            players = simulate(config, work / runs, cycle, registry, should_stop)
            state["current"] = {"cycle": cycle, "runs": runs, "players": players,
                                "warm": registry.deployed(config.name)}  # the weights training starts from
            remember(state, "runs", runs)
            advance(work, state, "train")
            say(f"{tag}: simulated {config.games} games ({', '.join(players)}) in "
                f"{time.monotonic() - began:.1f} s -> {runs}")
            continue
        spec = config.spec((work / runs).resolve(), cycle)
        if state["phase"] == "train":
            remember(state, "jobs", folder)
            save_state(work, state)
            job = Job.open(work / folder, spec)
            warm = state["current"]["warm"]
            shown = progress(spec.total, f"{tag} ") if progress is not None else None
            finished = job.train(shown, should_stop, warm=registry.model(config.name, warm) if warm else None)
            say("")
            if not finished:
                at, _ = job.resumed()
                raise LoopStopped(f"stopped in {tag} at training step {at.step if at else 0}")
            advance(work, state, "evaluate")
            continue
        job = Job.open(work / folder, spec)
        if state["phase"] == "evaluate":
            evaluation = job.evaluate(config.eval_games)
            version = job.register(registry, config.name, {"command": "everturn train loop", "loop": str(work),
                                                           "cycle": cycle, "players": state["current"]["players"]})
            remember(state, "models", version)
            state["current"]["version"] = version
            advance(work, state, "deploy")
            balanced = evaluation["vs"]["balanced"]
            say(f"{tag}: {config.name} v{version} won {balanced['share']:.0%} against balanced "
                f"(95%: {balanced['ci95'][0]:.0%}-{balanced['ci95'][1]:.0%})")
            continue
        if state["phase"] == "deploy":
            gate = job.deploy(registry)
            job.finish()
            state["current"]["gate"] = gate
            advance(work, state, "rotate")
            say(f"{tag}: gate against {gate['against']}: won {gate['won']}, lost {gate['lost']}, drawn "
                f"{gate['drawn']}: {'deployed' if gate['passed'] else 'refused'}")
            continue
        deleted = rotate(work, state, registry, config)
        entry = {"cycle": cycle, "runs": runs, "players": state["current"]["players"],
                 "version": state["current"]["version"], "gate": state["current"]["gate"],
                 "evaluation": {name: rate["share"] for name, rate in job.state["evaluation"]["vs"].items()},
                 "deployed": registry.deployed(config.name), "finished": now()}
        state["cycles"].append(entry)
        state["cycle"], state["phase"] = cycle + 1, "simulate"
        state.pop("current")
        save_state(work, state)
        if deleted:
            say(f"{tag}: rotated out {', '.join(deleted)}")
        cycle_done(entry)
    return state


def advance(work: Path, state: dict[str, Any], phase: str) -> None:
    state["phase"] = phase
    save_state(work, state)


def remember(state: dict[str, Any], kind: str, item: Any) -> None:
    if item not in state["files"][kind]:
        state["files"][kind].append(item)


def listed(registry: Registry) -> set[str]:
    return {p.name for p in registry.root.glob("*") if p.is_dir()} if registry.root.exists() else set()


def simulate(config: LoopConfig, out: Path, cycle: int, registry: Registry, should_stop: Callable[[], bool]) \
        -> list[str]:
    """The cycle's games as records in ``out``; the players that sat at the tables."""
    from engine_ext.headless import jobs, run, write_records

    ai = list(PERSONALITIES)
    if registry.deployed(config.name) is not None:
        ai.append(f"policy:{config.name}")
    batch = jobs(config.games, config.seed(cycle), config.rings, HOUSES, config.turns, ai, models=config.models,
                 sources=LEARNED_PLAYERS)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        with open(partial, "wb") as sink:
            for result in run(batch, workers=config.workers, ordered=True):  # the same file whatever the workers
                write_records(result, sink)
                if should_stop():
                    raise LoopStopped(f"stopped while simulating cycle {cycle}")
    except BaseException:
        if should_stop():  # Ctrl-C reaches the worker processes too: their KeyboardInterrupt comes back here
            raise LoopStopped(f"stopped while simulating cycle {cycle}") from None
        raise
    partial.replace(out)
    return sorted(set(batch[0].personalities) | {p for job in batch for p in job.personalities})


def rotate(work: Path, state: dict[str, Any], registry: Registry, config: LoopConfig) -> list[str]:
    """Delete all but the newest ``keep`` runs files, job folders and refused models of this loop."""
    deleted = []
    files = state["files"]
    for runs in files["runs"][:-config.keep]:
        (work / runs).unlink(missing_ok=True)
        deleted.append(runs)
    for folder in files["jobs"][:-config.keep]:
        shutil.rmtree(work / folder, ignore_errors=True)
        deleted.append(folder)
    files["runs"], files["jobs"] = files["runs"][-config.keep:], files["jobs"][-config.keep:]
    refused = [v for v in files["models"] if (meta_or_none(registry, config.name, v) or {}).get("playable") is False]
    keep = {registry.deployed(config.name), max(registry.versions(config.name), default=None)}  # the next number
    gone = [v for v in refused[:-config.keep] if v not in keep]
    for version in gone:
        shutil.rmtree(registry.root / config.name / f"v{version}", ignore_errors=True)
        deleted.append(f"{config.name} v{version}")
    files["models"] = [v for v in files["models"] if v not in gone]
    return deleted


def meta_or_none(registry: Registry, name: str, version: int) -> dict[str, Any] | None:
    try:
        return registry.meta(name, version)
    except RegistryError:
        return None


def listing(registry: Registry) -> list[dict[str, Any]]:
    """Every version of every model with its meta and whether it is deployed; a version a kill left
    without its meta shows as ``incomplete`` (``Registry.listing`` would stop at it)."""
    rows = []
    for name in sorted(listed(registry)):
        try:
            versions, deployed = registry.versions(name), registry.deployed(name)
        except RegistryError:  # not a model's folder
            continue
        for version in versions:
            meta = meta_or_none(registry, name, version)
            rows.append({**(meta or {"incomplete": True}), "name": name, "version": version,
                         "deployed": version == deployed})
    return rows
