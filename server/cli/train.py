"""Strategy players: ``sim`` (headless AI games as training records), ``train`` (and ``train loop``), ``models``.

torch is imported by the commands that train (``training.trainer``, ``headless``, ``loop``), when
they run: ``everturn sim`` and ``everturn --help`` never load it.
"""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time

import orjson

from engine_ext.galaxy import generate
from engine_ext.headless import jobs, run, summarize, write_records
from training.registry import LEARNED_PLAYERS, Registry, RegistryError, check_name


def sim(args: argparse.Namespace) -> int:
    try:
        batch = jobs(args.games, args.seed, args.rings, args.houses, args.turns,
                     [name.strip() for name in args.ai.split(",") if name.strip()], models=str(args.models),
                     sources=LEARNED_PLAYERS)
        if not 1 <= args.games <= 1_000_000 or not 1 <= args.turns <= 1000:
            raise ValueError("--games is 1 to 1,000,000 and --turns 1 to 1,000")
        generate(args.rings, args.houses, args.seed)  # refuse a bad size before any process starts
    except ValueError as exc:
        print(f"everturn sim: {exc}", file=sys.stderr)
        return 2
    results = []
    started = time.monotonic()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as out:
        try:
            for result in run(batch, workers=args.workers, backend=args.backend):
                results.append(write_records(result, out))
                done = len(results)
                bar = "#" * (30 * done // len(batch))
                print(f"\r[{bar:<30}] {done}/{len(batch)} games  {time.monotonic() - started:.1f} s", end="",
                      file=sys.stderr, flush=True)
        except RuntimeError as exc:
            print(f"\neverturn sim: {exc}", file=sys.stderr)
            return 2
    print(file=sys.stderr)
    summary = {**summarize(results), "seconds": round(time.monotonic() - started, 2), "out": str(args.out)}
    if args.json:
        print(orjson.dumps(summary).decode())
        return 0
    print(f"{summary['games']} games in {summary['seconds']} s -> {args.out}")
    for name, wins in summary["wins"].items():
        low, high = wins["ci95"]
        print(f"  {name:<13} won {wins['won']:>4} of {wins['played']:>4}  {wins['share']:.1%} "
              f"(95%: {low:.1%}-{high:.1%})")
    turns, ms = summary["game_turns"], summary["turn_ms"]
    print(f"  game length: mean {turns['mean']} turns ({turns['min']}-{turns['max']})")
    print(f"  turn time: p50 {ms['p50']} ms, p90 {ms['p90']} ms, p99 {ms['p99']} ms")
    return 0


def train(args: argparse.Namespace) -> int:
    """``everturn train``, or ``everturn train loop``."""
    return _train_loop(args) if args.train_command == "loop" else _train(args)


def _train_spec(args: argparse.Namespace, data: str):
    """The training settings of ``everturn train`` or ``train loop`` (raises ValueError)."""
    from training.trainer import TrainSpec  # torch: see the module's docstring


    if args.minutes is not None and not args.minutes > 0:
        raise ValueError("--minutes is above 0")
    if args.eval_games < 1:
        raise ValueError("--eval-games is at least 1")
    return TrainSpec(data=data, steps=args.steps, minutes=args.minutes, batch=args.batch, lr=args.lr, seed=args.seed,
                     checkpoint_every=args.checkpoint_every, imitate=args.imitate, selfplay=args.selfplay,
                     games_per_update=args.games_per_update)


class _StopOnSignal:
    """SIGINT/SIGTERM ask a training job to stop at the next step (it checkpoints first)."""

    def __init__(self) -> None:
        self.signal: int | None = None

    def __enter__(self) -> "_StopOnSignal":
        self.previous = {sig: signal.signal(sig, self._caught) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _caught(self, signum: int, frame: object) -> None:
        self.signal = signum

    def __call__(self) -> bool:
        return self.signal is not None


def _progress_bar(total: int, started: float, prefix: str = ""):
    def show(at, chunk, figures) -> None:
        bar = "#" * (30 * min(at.step, total) // total)
        if chunk["selfplay"] or figures.updates:
            doing = f"self-play won {figures.won}/{figures.games}"
        else:
            rate = figures.clone_samples / figures.clone_s if figures.clone_s else 0.0
            doing = f"loss {figures.loss:.3f}  {rate:,.0f} samples/s" if figures.loss is not None else "cloning"
        print(f"\r{prefix}[{bar:<30}] {at.step}/{total} steps  {doing}  {time.monotonic() - started:.1f} s",
              end="", file=sys.stderr, flush=True)

    return show


def _train(args: argparse.Namespace) -> int:
    from training.headless import Job  # torch

    drawn = False  # the progress bar is on the terminal's last line

    def bar(at, chunk, figures) -> None:
        nonlocal drawn
        drawn = True
        shown(at, chunk, figures)

    try:
        if args.data is None or args.name is None:
            raise ValueError("--data and --name are required (or: everturn train loop)")
        check_name(args.name)
        if not args.data.is_file():
            raise ValueError(f"no data file {args.data}")
        spec = _train_spec(args, str(args.data.resolve()))
        folder = args.out / ".jobs" / args.name
        job = Job.open(folder, spec)
        if job.phase == "done":  # the last job of this name finished after noting it: this is a new one
            shutil.rmtree(folder)
            job = Job.open(folder, spec)
        at, _ = job.resumed()
        if at is not None or job.phase != "train":
            print(f"everturn train: resuming {args.name} from step {at.step if at else 0} of {spec.total} "
                  f"({job.phase}; {folder})", file=sys.stderr)
        shown = _progress_bar(spec.total, time.monotonic())
        with _StopOnSignal() as stop:
            finished = job.train(bar, should_stop=stop)
        if drawn:
            print(file=sys.stderr)
            drawn = False
        if not finished:
            at, _ = job.resumed()
            print(f"everturn train: stopped at step {at.step if at else 0}; run the same command to go on",
                  file=sys.stderr)
            return 128 + (stop.signal or 0)
        print(f"everturn train: evaluating ({args.eval_games} duels against each personality)", file=sys.stderr)
        evaluation = job.evaluate(args.eval_games)
        registry = Registry(args.out)
        version = job.register(registry, args.name, {"command": "everturn train"})
        gate = job.deploy(registry) if args.deploy else None
        job.finish()
    except ValueError as exc:  # bad settings, records, names; another job's folder (JobError, DatasetError, ...)
        lead = "\n" if drawn else ""  # below the progress bar
        print(f"{lead}everturn train: {exc}", file=sys.stderr)
        return 2
    figures = job.state["figures"]
    shutil.rmtree(folder)
    if args.json:
        print(orjson.dumps({"name": args.name, "version": version, "models": str(args.out), "figures": figures,
                            "evaluation": evaluation, "gate": gate, "deployed": registry.deployed(args.name)}).decode())
        return 0
    print(f"{args.name} v{version} -> {args.out / args.name / f'v{version}'}")
    _print_figures(figures)
    _print_evaluation(evaluation)
    if gate is not None:
        _print_gate(args.name, version, gate)
    return 0


def _print_figures(figures: dict) -> None:
    if figures["clone_steps"]:
        print(f"  cloning: {figures['clone_steps']} steps, {figures['clone_samples']:,} samples, "
              f"{figures['samples_per_s']:,.0f} samples/s, last loss {figures['loss']}")
    if figures["updates"]:
        print(f"  self-play: {figures['updates']} updates, won {figures['won']} of {figures['games']} duels "
              f"({figures['selfplay_s']:.1f} s)")


def _print_evaluation(evaluation: dict) -> None:
    print(f"  evaluation ({evaluation['games_each']} duels each, seeds {evaluation['seed']}+):")
    for name, rate in evaluation["vs"].items():
        low, high = rate["ci95"]
        print(f"    vs {name:<13} won {rate['won']:>3} of {rate['played']:>3}  {rate['share']:.1%} "
              f"(95%: {low:.1%}-{high:.1%})")


def _print_gate(name: str, version: int, gate: dict) -> None:
    outcome = "deployed" if gate["passed"] else "refused, not deployed"
    print(f"  gate: {name} v{version} against {gate['against']}: won {gate['won']}, lost {gate['lost']}, "
          f"drawn {gate['drawn']} of {gate['games']}: {outcome}")


def _train_loop(args: argparse.Namespace) -> int:
    from training.loop import LoopConfig, LoopStopped, run_loop  # torch

    try:
        if args.cycles is not None and args.cycles < 1:
            raise ValueError("--cycles is at least 1")
        config = LoopConfig(name=args.name, models=str(args.models.resolve()), games=args.games, turns=args.turns,
                            rings=args.rings, keep=args.keep, workers=args.workers,
                            train=_train_spec(args, "").as_dict(), eval_games=args.eval_games)
    except ValueError as exc:
        print(f"everturn train loop: {exc}", file=sys.stderr)
        return 2

    def said(line: str) -> None:
        print(f"\r{line}", file=sys.stderr, flush=True)

    def cycle_done(entry: dict) -> None:
        if args.json:
            print(orjson.dumps(entry).decode(), flush=True)

    with _StopOnSignal() as stop:
        try:
            run_loop(config, args.work, cycles=args.cycles, should_stop=stop, say=said, cycle_done=cycle_done,
                     progress=lambda total, prefix: _progress_bar(total, time.monotonic(), prefix))
        except LoopStopped as stopped:
            print(f"\neverturn train loop: {stopped}; run the same command to go on", file=sys.stderr)
            return 128 + (stop.signal or 0)
        except ValueError as exc:
            print(f"\neverturn train loop: {exc}", file=sys.stderr)
            return 2
    return 0


def models(args: argparse.Namespace) -> int:
    registry = Registry(args.models)
    if args.models_command == "deploy":
        try:
            version = int(args.version.removeprefix("v"))
            registry.meta(args.name, version)
            verdict = registry.deploy(args.name, version).as_dict()
        except ValueError as exc:  # RegistryError included
            print(f"everturn models deploy: {exc}", file=sys.stderr)
            return 2
        if args.json:
            print(orjson.dumps(verdict).decode())
        else:
            _print_gate(args.name, version, verdict)
        return 0 if verdict["passed"] else 1
    if not args.models.is_dir():
        print(f"everturn models: no model registry at {args.models}", file=sys.stderr)
        return 2
    from training.loop import listing  # torch

    try:
        rows = listing(registry)
    except RegistryError as exc:
        print(f"everturn models: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(orjson.dumps({"models": str(args.models), "versions": rows}).decode())
        return 0
    if not rows:
        print(f"no models in {args.models}")
        return 0
    names = ("aggressive", "economic", "turtle", "expansionist", "balanced")
    print(f"{'model':<24} {'deployed':<9} {'gate':<28} " + " ".join(f"{n[:6]:>6}" for n in names) + "  created")
    for row in rows:
        gate = row.get("gate")
        verdict = "incomplete" if row.get("incomplete") else "not run" if gate is None else \
            f"{'passed' if gate['passed'] else 'refused'} vs {gate['against']} {gate['won']}-{gate['lost']}"
        vs = (row.get("evaluation") or {}).get("vs", {})
        rates = " ".join(f"{vs[n]['share']:>6.0%}" if n in vs else f"{'-':>6}" for n in names)
        print(f"{row['name'] + ' v' + str(row['version']):<24} {'yes' if row['deployed'] else '':<9} {verdict:<28} "
              f"{rates}  {row.get('created', '')}")
    return 0
