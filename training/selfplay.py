"""Self-play duels for policy gradient: the policy samples its plans, the rule-based AI answers.

``play_batch(net, spec, step)`` plays ``spec.games_per_update`` duels (3-ring maps,
``spec.turns`` long) against the personalities in turn, the policy's seat alternating,
on map seeds apart from the evaluation's and the gate's.  Its dice (which plan each head
samples) come from a generator seeded by the spec's seed and the step, so an update is
the same whenever it runs.  Returns, per game, the summed log-probabilities of the plans
taken (with gradients), their entropies, the rewards (+1 won, -1 lost, 0 nobody) and how
many decisions were made.
"""
from __future__ import annotations

import torch

from engine_ext.headless import action_mask, state_vector
from engine_ext.strategy_ai import PERSONALITIES, orders
from engine_ext.strategy_macro import HEADS, plan_orders
from engine_ext.strategy_state import new_game
from engine_ext.strategy_turn import resolve

from .policy import PolicyNet, masks_of

SEED_BASE = 5_000_000   # self-play maps: far from evaluate's (9,000+) and the gate's (77,000+)
RINGS = 3


def play_batch(net: PolicyNet, spec, step: int) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor, int]:
    dice = torch.Generator().manual_seed(spec.seed * 1_000_003 + step)
    names = tuple(PERSONALITIES)
    log_probs, entropies, rewards, decisions = [], [], [], 0
    for g in range(spec.games_per_update):
        game_number = step * spec.games_per_update + g
        opponent, seat = names[game_number % len(names)], game_number % 2
        game = new_game(RINGS, 2, SEED_BASE + spec.seed * 100_003 + game_number)
        taken: list[torch.Tensor] = []
        winner = None
        for _ in range(spec.turns):
            given = {}
            for house in game.houses:
                if not house.alive:
                    continue
                if house.hid != seat:
                    given[house.hid] = orders(game, house.hid, opponent)
                    continue
                state = torch.tensor([state_vector(game, seat, spec.turns)], dtype=torch.float32)
                logits = net(state, masks_of([action_mask(game, seat)]))
                plan = {}
                for head in HEADS:
                    dist = torch.distributions.Categorical(logits=logits[head][0])
                    choice = torch.multinomial(dist.probs.detach(), 1, generator=dice)[0]
                    plan[head] = int(choice)
                    taken.append(dist.log_prob(choice))
                    entropies.append(dist.entropy().unsqueeze(0))
                decisions += 1
                given[seat] = plan_orders(game, seat, plan)
            game, report = resolve(game, given, turn_limit=spec.turns)
            if report.winner is not None:
                winner = report.winner
                break
        log_probs.append(torch.stack(taken) if taken else torch.zeros(1, requires_grad=True))
        rewards.append(0.0 if winner is None else 1.0 if winner == seat else -1.0)
    return log_probs, entropies, torch.tensor(rewards), decisions
