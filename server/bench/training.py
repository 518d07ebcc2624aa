"""``everturn bench training``: how fast a policy learns, and how good it gets on a fixed budget.

The bench simulates its own records first: ``SIM_GAMES`` two-house games on 3-ring maps,
60 turns, the five personalities dealt round (seeds ``SIM_SEED``+, apart from every
seed that judges a model), on two worker processes.

- ``samples_per_s``: behaviour-cloning samples per second on those records (batches of
  256, after a warm-up; torch on the machine's cores).
- ``win_rate_vs_balanced``, ``win_rate_ci_low``: a policy trained for ``minutes``
  (default 10: ``CLONE_STEPS`` cloning steps on the records' winners, then self-play
  policy-gradient updates until the minutes are spent), playing greedily
  ``eval_games`` duels against the balanced personality on ``training.evaluate``'s fixed
  seeds (9,000+), seats alternating; the share won and the low end of its Wilson 95%
  interval.  Target: above 0.55.
- ``details``: the same duels against the other personalities, the steps and updates
  the budget bought, the seeds.

Self-play policy gradient wanders: on this machine a policy that won 80% of its duels
against the balanced AI after 250 updates won 35% a hundred updates later.  So every
``SELECT_EVERY`` updates the policy plays ``SELECT_GAMES`` validation duels against the
balanced AI on seeds of their own (``SELECT_SEED``+, never the evaluation's) and the
best so far is the one evaluated (the last one's figure is in the details too).  The
validation duels are part of the budget: training and validation together take
``minutes``.
"""
from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

SIM_GAMES, SIM_TURNS, SIM_RINGS, SIM_SEED = 200, 60, 3, 1_000_000
CLONE_STEPS = 1000
MEASURED_STEPS = 300
SELECT_EVERY, SELECT_GAMES, SELECT_SEED = 25, 50, 40_000
TARGETS = {"samples_per_s": None, "win_rate_vs_balanced": (">", 0.55), "win_rate_ci_low": None}


def simulate(out: Path, workers: int = 2, games: int = SIM_GAMES, turns: int = SIM_TURNS,
             seed: int = SIM_SEED) -> dict[str, Any]:
    """Records of ``games`` two-house games by the personalities dealt round, written to ``out``; their summary."""
    from engine_ext.headless import jobs, run, summarize, write_records
    from engine_ext.strategy_ai import PERSONALITIES

    results = []
    with open(out, "wb") as sink:
        for result in run(jobs(games, seed, SIM_RINGS, 2, turns, list(PERSONALITIES)), workers=workers,
                          ordered=True):  # the same records in the same order: the same batches
            results.append(write_records(result, sink))
    return summarize(results)


def clone_rate(data: str, seed: int) -> float:
    """Cloning samples/s over ``MEASURED_STEPS`` steps, after 20 to warm up."""
    from training.trainer import TrainSpec, train

    spec = TrainSpec(data=data, steps=20 + MEASURED_STEPS, seed=seed, checkpoint_every=10**9)
    warm = train(spec, 20)
    return train(spec, spec.steps, warm.checkpoint).figures["samples_per_s"]


def trained_for(data: str, minutes: float, seed: int, say=None) -> tuple[Any, Any, dict[str, Any]]:
    """A policy trained for ``minutes`` (cloning, then self-play; validation duels included): the best
    validated network, the last one, and the figures."""
    from dataclasses import replace

    from training.evaluate import TURNS, rule_based, win_rate
    from training.policy import Player
    from training.trainer import TrainSpec, model_of, train

    spec = TrainSpec(data=data, steps=CLONE_STEPS, selfplay=10**7, minutes=minutes, seed=seed,
                     checkpoint_every=10**9)
    at, games, won, validating_s = None, 0, 0, 0.0
    best: tuple[float, int, Any] | None = None   # (validation share, step, network)
    while True:
        step = at.step if at is not None else 0
        # the minutes left for training: the budget less the validation duels so far
        budget = replace(spec, minutes=max(1e-6, minutes - validating_s / 60))
        chunk = train(budget, min(spec.steps, step + 100) if step < spec.steps else step + SELECT_EVERY, at)
        at = chunk.checkpoint
        if chunk.figures["selfplay"]:
            games, won = games + chunk.figures["selfplay"]["games"], won + chunk.figures["selfplay"]["won"]
        if at.step >= spec.steps and (at.step - spec.steps) % SELECT_EVERY == 0 or chunk.done:
            began = time.perf_counter()
            net = model_of(spec, at)
            share = win_rate(Player(net, turns=TURNS), rule_based("balanced"), SELECT_GAMES, SELECT_SEED)["share"]
            validating_s += time.perf_counter() - began
            if best is None or share >= best[0]:
                best = (share, at.step, net)
            if say is not None:
                say(f"{at.trained_s + validating_s:5.0f} of {minutes * 60:.0f} s: step {at.step}, self-play won "
                    f"{won}/{games}; validation {share:.2f} against balanced (best {best[0]:.2f} at {best[1]})")
        if chunk.done:
            break
    assert best is not None
    figures = {"clone_steps": min(at.step, spec.steps), "selfplay_updates": max(0, at.step - spec.steps),
               "selfplay_games": games, "selfplay_won": won, "trained_s": round(at.trained_s, 1),
               "validating_s": round(validating_s, 1), "selected_step": best[1], "selected_validation": best[0],
               "validation": f"{SELECT_GAMES} duels against balanced every {SELECT_EVERY} updates, "
                             f"seeds {SELECT_SEED}+"}
    return best[2], model_of(spec, at), figures


def measure(minutes: float = 10.0, seed: int = 0, eval_games: int = 100, say=None) -> dict[str, Any]:
    from training.evaluate import TURNS, evaluate
    from training.policy import Player

    say = say or (lambda line: None)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="everturn-bench-") as folder:
        data = str(Path(folder) / "runs.jsonl")
        say(f"simulating {SIM_GAMES} games")
        simulated = simulate(Path(data))
        from training.dataset import load

        records = len(load(data))
        say("measuring cloning samples/s")
        rate = clone_rate(data, seed)
        say(f"training for {minutes} minutes")
        net, last, figures = trained_for(data, minutes, seed, say)
    say(f"evaluating: {eval_games} duels against each personality")
    report = evaluate(Player(net, turns=TURNS), games=eval_games)
    balanced = report["vs"]["balanced"]
    last_balanced = evaluate(Player(last, turns=TURNS), games=eval_games, opponents=("balanced",))["vs"]["balanced"]
    return {
        "samples_per_s": round(rate),
        "win_rate_vs_balanced": balanced["share"],
        "win_rate_ci_low": balanced["ci95"][0],
        "details": {"win_rate_ci95": balanced["ci95"], "minutes": minutes, **figures,
                    "last_step_vs_balanced": f"{last_balanced['share']:.2f} ({last_balanced['ci95'][0]:.2f}-"
                                             f"{last_balanced['ci95'][1]:.2f})",
                    "vs": {name: f"{rate['share']:.2f} ({rate['ci95'][0]:.2f}-{rate['ci95'][1]:.2f})"
                           for name, rate in report["vs"].items()},
                    "eval_games": eval_games, "eval_seed": report["seed"], "duel_turns": report["turns"],
                    "sim_games": SIM_GAMES, "sim_seed": SIM_SEED, "cloned_house_turns": records,
                    "sim_winners": {name: w["share"] for name, w in simulated["wins"].items()}, "seed": seed,
                    "bench_s": round(time.perf_counter() - began, 1), "torch_threads": _threads(),
                    "python": platform.python_version(), "cpus": os.cpu_count()},
    }


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def run_training_bench(json_output: bool = False, minutes: float = 10.0, seed: int = 0, eval_games: int = 100) -> int:
    if not minutes > 0 or eval_games < 1:
        print("everturn bench training: --minutes is above 0 and --eval-games at least 1", file=sys.stderr)
        return 2
    result = measure(minutes, seed, eval_games, say=lambda line: print(f"  {line}", file=sys.stderr, flush=True))
    if json_output:
        print(orjson.dumps(result).decode())
        return 0
    print(f"everturn bench training ({minutes} minutes of training; {eval_games} duels against each personality)")
    for key, target in TARGETS.items():
        value, verdict = result[key], ""
        if target is not None:
            op, bound = target
            verdict = f"  (target {op} {bound}: {'met' if value > bound else 'NOT MET'})"
        print(f"  {key:<22} {value}{verdict}")
    for key, value in result["details"].items():
        print(f"    {key:<26} {value}")
    return 0
