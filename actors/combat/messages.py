"""Encounter commands and events.  ``Internal`` commands come from the campaign only."""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, StrictBool

from ..messages import Command, Event, Internal
from .state import Combatant, Frozen

CID = r"^[A-Za-z0-9_-]{1,64}$"
ZONE = Field(min_length=1, max_length=40, description="a zone of the scene, e.g. melee, balcony, behind cover")


class EndTurn(Command):
    """End the current turn: by the combatant's player, or the GM for anyone.

    ``round`` and ``turn`` name the turn being ended; if it has moved on (ended, skipped
    or timed out meanwhile) the command is refused with ``combat/turn_moved``.
    """

    round: int = Field(ge=1, le=1_000_000)
    turn: int = Field(ge=1, le=1_000)
    action: str | None = Field(None, max_length=8000, description="what the combatant did, for the post log")


class SkipTurn(Command):
    """GM: skip the current turn (the combatant takes a defensive stance); compare-and-swap like EndTurn."""

    round: int = Field(ge=1, le=1_000_000)
    turn: int = Field(ge=1, le=1_000)


class StrikeAction(Frozen):
    kind: Literal["strike"] = "strike"
    target: str = Field(pattern=CID)
    strike: str | None = Field(None, max_length=80, description="which of the attacker's strikes (default: the first)")


class StrideAction(Frozen):
    """Move to another zone (1 action)."""

    kind: Literal["stride"] = "stride"
    zone: str = ZONE


class StepAction(Frozen):
    """Move carefully to another zone (1 action): leaves no opening for reactions."""

    kind: Literal["step"] = "step"
    zone: str = ZONE


class RaiseShieldAction(Frozen):
    """+2 circumstance to AC until the start of your next turn (1 action)."""

    kind: Literal["raise_shield"] = "raise_shield"


class TakeCoverAction(Frozen):
    """+2 circumstance to AC until you move (1 action); does not add to a raised shield."""

    kind: Literal["take_cover"] = "take_cover"


class DemoralizeAction(Frozen):
    """Intimidation against the target's Will DC: frightened 1, 2 on a critical success (1 action)."""

    kind: Literal["demoralize"] = "demoralize"
    target: str = Field(pattern=CID)


class RecoverAction(Frozen):
    """Work at persistent damage (1 action): an extra DC 15 flat check that ends it on a success."""

    kind: Literal["recover"] = "recover"
    damage_type: str = Field(min_length=1, max_length=30)


class RetchAction(Frozen):
    """Try to shake off sickened (1 action): a Fortitude save against the DC of what sickened you
    (15 unless the GM set one): sickened -1 on a success, -2 on a critical success."""

    kind: Literal["retch"] = "retch"


class EscapeAction(Frozen):
    """Break free of grabbed or restrained (1 action, an attack: the multiple attack penalty applies):
    the better of Athletics and Acrobatics against the escape DC (15 unless the GM set one)."""

    kind: Literal["escape"] = "escape"


class AidAction(Frozen):
    """Prepare to help an ally (1 action on your turn).  On the ally's turn, ``React`` spends your
    reaction on the aid check (DC 15, with ``skill`` or the first strike's attack): the ally's next
    check gets +2 circumstance on a critical success, +1 on a success, -1 on a critical failure."""

    kind: Literal["aid"] = "aid"
    ally: str = Field(pattern=CID)
    skill: str | None = Field(None, max_length=40)


class ReadyAction(Frozen):
    """Prepare an action for a trigger (2 actions); ``React`` spends the reaction to take it later."""

    kind: Literal["ready"] = "ready"
    then: Union[StrikeAction, StrideAction, StepAction, RaiseShieldAction]
    trigger: str = Field("", max_length=200)


class DelayAction(Frozen):
    """Wait for the right moment (free, before acting this turn): out of the order until Resume
    (at the end of another's turn, keeping the actions and taking that place in the order) or
    until its next turn comes (the delayed actions lost).  The ticks of the end of its turn
    happen now."""

    kind: Literal["delay"] = "delay"


class ActivityAction(Frozen):
    """Anything else, at the cost its user declares (1 to 3 actions); the rules only count the actions."""

    kind: Literal["activity"] = "activity"
    name: str = Field(min_length=1, max_length=80)
    cost: int = Field(ge=1, le=3)
    text: str = Field("", max_length=2000)


Action = Annotated[Union[StrikeAction, StrideAction, StepAction, RaiseShieldAction, TakeCoverAction, DemoralizeAction,
                         RecoverAction, RetchAction, EscapeAction, AidAction, ReadyAction, DelayAction,
                         ActivityAction],
                   Field(discriminator="kind")]


class Act(Command):
    """Take one action on the current turn, under the rules.

    ``round`` and ``turn`` name the turn (compare-and-swap, like EndTurn).  The combatant's
    player acts for themselves; the GM for whoever's turn it is.  ``dice``: a GM or a bridge
    may submit the faces it rolled itself (in the order the action reads them: the d20,
    then the damage dice); everyone else gets the encounter's seeded dice.
    """

    round: int = Field(ge=1, le=1_000_000)
    turn: int = Field(ge=1, le=1_000)
    action: Action
    dice: tuple[int, ...] | None = Field(None, max_length=200)


class React(Command):
    """Spend a combatant's reaction on the action it readied (its trigger came), outside its turn."""

    cid: str = Field(pattern=CID)
    dice: tuple[int, ...] | None = Field(None, max_length=200)


class Resume(Command):
    """A delaying combatant returns: it takes the next turn, right after the current one ends."""

    cid: str = Field(pattern=CID)


class Control(Command):
    """GM: hand a creature to an external agent (``agent: true``: its turns wait for Act and EndTurn
    like a player's), or back to the built-in tactics."""

    cid: str = Field(pattern=CID)
    agent: StrictBool


class Adjust(Command):
    """GM: what the rules don't see happen (a spell, a trap, a potion): damage, healing,
    conditions (value 0 removes one) and persistent damage (dice per damage type; "" ends it)."""

    cid: str = Field(pattern=CID)
    escape_dc: int | None = Field(None, ge=1, le=80, description="the DC to Escape the grab or restraint applied")
    sickened_dc: int | None = Field(None, ge=1, le=80, description="the DC of the effect that sickened it (retch)")
    damage: int = Field(0, ge=0, le=10_000)
    critical: StrictBool = Field(False, description="the damage came from a critical hit (dying 2, or +2 while dying)")
    heal: int = Field(0, ge=0, le=10_000)
    conditions: dict[str, int] = Field(default_factory=dict, max_length=12)
    persistent: dict[str, str] = Field(default_factory=dict, max_length=6)


class BeginEncounter(Internal):
    campaign: str
    n: int
    combatants: tuple[Combatant, ...]
    turn_idle_s: float
    max_rounds: int


class StopEncounter(Internal):
    reason: str = "gm"


class RemoveCombatant(Internal):
    """Their player went inactive: out of the initiative until they act again."""

    player_id: str


class RestoreCombatant(Internal):
    player_id: str


class PlayerActed(Internal):
    """The player posted an action in the campaign: it ends their turn if it is theirs."""

    player_id: str
    text: str = ""


class SetTurnLimit(Internal):
    turn_idle_s: float


# -- events ----------------------------------------------------------------------------

class EncounterBegun(Event):
    campaign: str
    n: int
    combatants: tuple[Combatant, ...]   # every initiative set (rolled ones included)
    turn_idle_s: float
    max_rounds: int
    at: float
    initiative_rolls: dict[str, int] = Field(default_factory=dict)  # cid -> the d20 rolled for it
    dice_used: int = 0


class TurnStarted(Event):
    round: int
    turn: int
    cid: str
    at: float


class TurnEnded(Event):
    round: int
    turn: int
    cid: str
    how: str  # ended | skipped | auto_skipped | left
    at: float
    action: str | None = None


class CombatantRemoved(Event):
    cid: str


class CombatantRestored(Event):
    cid: str


class TurnLimitSet(Event):
    turn_idle_s: float


class EncounterEnded(Event):
    reason: str  # gm | max_rounds | nobody_left
    at: float


class Attack(Frozen):
    """One attack or check roll and what came of it."""

    d20: int
    modifier: int
    total: int
    dc: int
    degree: str               # critical_failure | failure | success | critical_success
    map: int = 0              # the multiple attack penalty in the modifier
    damage_dice: tuple[int, ...] = ()
    damage: int = 0


class ActionTaken(Event):
    cid: str
    kind: str
    cost: int
    target: str | None = None
    name: str | None = None   # the strike or activity
    attack: Attack | None = None
    text: str = ""
    dice_used: int            # the dice stream's position after it
    supplied: bool = False    # the caller rolled the dice


class ActionsRegained(Event):
    """The start of a turn: actions (after slowed and stunned), the reaction, a lowered shield."""

    cid: str
    actions: int
    stunned: int              # stunned left after the actions it took


class Damaged(Event):
    cid: str
    amount: int
    critical: bool
    hp: int
    dying: int
    dead: bool


class ConditionChanged(Event):
    cid: str
    name: str
    value: int                # 0: gone


class Moved(Event):
    cid: str
    zone: str


class Guarded(Event):
    cid: str
    shield: bool
    cover: bool


class RecoveryRolled(Event):
    """A dying combatant's flat check at the start of its turn (DC 10 + dying)."""

    cid: str
    roll: int
    dc: int
    degree: str
    dying: int
    wounded: int
    dead: bool
    dice_used: int


class PersistentDamageRolled(Event):
    """End of turn: persistent damage of one type, then its DC 15 flat check."""

    cid: str
    damage_type: str
    damage_dice: tuple[int, ...]
    amount: int
    flat: int
    ended: bool
    dice_used: int


class Fled(Event):
    """A cowardly creature, badly hurt, leaves the fight."""

    cid: str


class ControlChanged(Event):
    cid: str
    agent: bool


class Healed(Event):
    """HP back: above 0 it ends dying (wounded +1) and unconsciousness."""

    cid: str
    amount: int
    hp: int
    wounded: int


class PersistentSet(Event):
    cid: str
    damage_type: str
    dice: str               # "": it ends


class FlatChecked(Event):
    """An extra flat check against persistent damage (Recover)."""

    cid: str
    damage_type: str
    flat: int
    ended: bool
    dice_used: int


class Readied(Event):
    cid: str
    action: dict            # the readied action, as sent
    trigger: str


class Aided(Event):
    """The ally's next check gets this circumstance modifier."""

    cid: str                # the ally
    bonus: int


class EscapeSet(Event):
    cid: str
    dc: int
    what: str = "escape"  # escape | sickened


class Delayed(Event):
    cid: str
    actions: int
    round: int


class ResumeQueued(Event):
    cid: str


class Resumed(Event):
    """Back from a delay: its turn now, with the actions it kept, and a new place in the order."""

    cid: str
    actions: int
    initiative: int
    tiebreak: int

