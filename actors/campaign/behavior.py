"""``campaign/{id}``: commands validated against the state, enforcement on durable timers.

The campaign owns the post log, the players' activity, story deadlines and scheduled
orders; its encounters are child actors (``combat/{id}.{n}``) that report every turn back
(``CombatUpdate``) and hear from the campaign when players act, leave or return.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable

from engine_ext.dice_ref import Stream

from ..behavior import Behavior, planned_timers
from ..dice import Expression, parse, roll_expression, seed_of
from ..combat.messages import (
    BeginEncounter, PlayerActed, RemoveCombatant, RestoreCombatant, SetTurnLimit, StopEncounter,
)
from ..combat import difficulty
from ..combat.rules import adjusted, conditions_from_text, kept_by_rules
from ..combat.state import Combatant, Stats
from ..errors import Forbidden, Rejected
from ..messages import ChildFailed, Command, Context, Decision, Event, Tell, TimerFired
from ..roles import is_gm
from . import enforcement, invites, narration, posts, privacy
from .messages import (
    CampaignCreated, CancelOrder, CharacterChanged, ClaimInvite, ClearDeadline, CombatUpdate, CreateCampaign,
    CreateInvite, DeadlineCleared, DeadlineSet, DeletePost, DiceRolled, EditPost, EncounterClosed, EncounterStarted,
    EncounterUpdated, EndEncounter, InviteClaimed, InviteCreated, InviteRevoked, JoinCampaign, DormancyChanged,
    MarkFollowing, ModeChanged, NarrateNpc, NarrationDone, OrderChanged, OrderScheduled, PlayerActive, PlayerJoined,
    PlayerStatusChanged, PostAction, PostDeleted, Posted, PostEdited, PostNarrated, PostNarration, RevokeInvite,
    RollDice, SceneStarted, ScheduleOrder, SetDeadline, SetMode, SettingsUpdated, StartEncounter, StartScene,
    UpdateSettings, Whisper,
)
from .state import (
    FINISHED_ORDERS, HOUR, RECENT_POSTS, RECENT_ROLLS, Campaign, Character, Deadline, EncounterView, Order, Player,
    Roll, Scene, Settings,
)

if TYPE_CHECKING:
    from ..narration.service import Narrator

PLANS_KEPT = 256  # campaigns decided on recently whose timer plans are kept (each pins its state)


class CampaignKind(Behavior[Campaign]):
    kind = "campaign"
    State = Campaign
    commands = (CreateCampaign, JoinCampaign, PostAction, PostNarration, Whisper, EditPost, DeletePost, RollDice,
                MarkFollowing, SetMode, StartScene, StartEncounter, EndEncounter, SetDeadline, ClearDeadline,
                ScheduleOrder, CancelOrder, UpdateSettings, NarrateNpc, CreateInvite, ClaimInvite, RevokeInvite,
                CombatUpdate, NarrationDone, TimerFired, ChildFailed)
    creates = (CreateCampaign,)
    events = (CampaignCreated, PlayerJoined, Posted, PlayerStatusChanged, DeadlineSet, DeadlineCleared,
              SettingsUpdated, ModeChanged, SceneStarted, EncounterStarted, EncounterUpdated, EncounterClosed,
              OrderScheduled, OrderChanged, DiceRolled, CharacterChanged, PostNarrated, PlayerActive, DormancyChanged,
              PostEdited, PostDeleted, InviteCreated, InviteClaimed, InviteRevoked)

    def owns(self, address: str, state: Campaign, child: str) -> bool:
        """Its encounters ``combat/{id}.{n}``, for each ``n`` it started (1 to ``encounters``)."""
        kind, _, rest = child.partition("/")
        own_id, _, n = rest.rpartition(".")
        return (kind == "combat" and own_id == address.split("/", 1)[1] and n.isdigit() and str(int(n)) == n
                and 1 <= int(n) <= state.encounters)

    projection_reads_state = False  # a whisper's event says who may read it

    def projects(self, viewer: dict[str, Any] | None) -> bool:
        return privacy.projects(viewer)

    def project_state(self, state: Campaign, viewer: dict[str, Any] | None) -> dict[str, Any]:
        return privacy.project_state(state, viewer)

    def project_event(self, state: Campaign | None, event: Event, viewer: dict[str, Any] | None) -> dict[str, Any] | None:
        return privacy.project_event(event, viewer)

    def __init__(self, narrator: Narrator | None = None) -> None:
        """``narrator``: the server's (``actors.narration.Narrator``); without one, the templates are posted."""
        self.narrator = narrator
        # the plans of the states decided on last, by identity (states are never changed in place): the
        # plan after one command is the plan before the next, and it walks every player
        self._plans: OrderedDict[int, tuple[Campaign, dict[str, float]]] = OrderedDict()

    def _plan(self, state: Campaign, before: Campaign | None = None) -> dict[str, float]:
        """The timers ``state`` needs (kept for the next decision, whose state this is); from
        ``before``'s plan when given (a decision's state before its events)."""
        known = self._plans.get(id(state))
        if known is not None and known[0] is state:
            return known[1]
        planned = enforcement.plan(state) if before is None else enforcement.replan(before, self._plan(before), state)
        self._plans[id(state)] = (state, planned)
        if len(self._plans) > PLANS_KEPT:
            self._plans.popitem(last=False)
        return planned

    def decide(self, state: Campaign, command: Command, ctx: Context) -> Decision:
        now = ctx.now.timestamp()
        fired = command.name if isinstance(command, TimerFired) else None
        if isinstance(command, TimerFired) and command.name.startswith(narration.TIMER):
            events = narration.timed_out(state, command.name)
        elif isinstance(command, TimerFired):
            events = enforcement.enforce(state, now, self.evolve)
        else:
            events = self._handle(state, command, ctx, now)
        events = enforcement.woken(state, events, now)
        voice = (command.npc, command.hint) if isinstance(command, NarrateNpc) else None
        events, work, after = narration.narrate(self.narrator, state, events, ctx.address, self.evolve, voice)
        return Decision(events=events, timers=planned_timers(self._plan(state), self._plan(after, state), fired),
                        tells=encounter_tells(state, after, command, events), work=work, after=after)

    def _handle(self, state: Campaign, command: Command, ctx: Context, now: float) -> list[Event]:
        by = ctx.by or {}
        if isinstance(command, CreateCampaign):
            require_gm(by)
            if state.created:
                raise Rejected("campaign/exists", "this campaign already exists")
            return [CampaignCreated(title=command.title, ruleset=command.ruleset, gm=by.get("token_id"),
                                    settings=command.settings, at=now)]
        if not state.created:
            if isinstance(command, (CombatUpdate, ChildFailed)):
                return []
            raise Rejected("campaign/not_created", "create the campaign first (CreateCampaign)")
        match command:
            case JoinCampaign(character=character):
                player_id = acting_player(by, command.player_id)
                if player_id in state.players:
                    raise Rejected("campaign/already_joined", f"{player_id} already plays in this campaign")
                if character.hp > character.max_hp:
                    raise Rejected("campaign/invalid_character", "hp cannot exceed max_hp")
                return [PlayerJoined(player=Player(player_id=player_id, character=character, joined_at=now))]
            case PostAction(text=text, ooc=ooc, roll=roll):
                player_id = acting_player(by, command.player_id)
                rolled = dice_rolled(state, RollDice(expression=roll, player_id=player_id, reason=headline(text)),
                                     by, ctx.address, now) if roll else None
                events = player_acted(state, player_id, text, now, "ooc" if ooc else "action")
                return posts.stamped([*events[:-1], *([rolled] if rolled else []), posts.with_roll(events[-1], rolled)],
                                     by)
            case PostNarration(text=text, roll=roll):
                require_gm(by)
                rolled = dice_rolled(state, RollDice(expression=roll, reason=headline(text)), by, ctx.address,
                                     now) if roll else None
                posted = enforcement.post(state, "ooc" if command.ooc else "narration", text, now, None,
                                          author=by.get("token_id") or "gm", meta=command.meta)
                if command.speaker:
                    posted = Posted(post=posted.post.model_copy(update={"speaker": command.speaker}))
                return posts.stamped([*([rolled] if rolled else []), posts.with_roll(posted, rolled)], by)
            case Whisper():
                author = posts.author_of(by) if is_gm(by) and command.player_id is None else acting_player(
                    by, command.player_id)
                returned = returning(state, author, now) if author in state.players else []
                return posts.stamped([*returned, posts.whisper(state, command, author, now)], by)
            case EditPost():
                return posts.edited(state, command, by, now)
            case DeletePost():
                return posts.deleted(state, command, by, now)
            case CreateInvite():
                require_gm(by)
                return invites.created(state, command, now)
            case ClaimInvite():
                return invites.claimed(state, command, now)
            case RevokeInvite():
                require_gm(by)
                return invites.revoked(state, command, now)
            case RollDice():
                rolled = dice_rolled(state, command, by, ctx.address, now)
                return [*returning(state, rolled.roll.by, now), rolled]
            case MarkFollowing(player_id=player_id):
                require_gm(by)
                player = known_player(state, player_id)
                if player.status != "active":
                    raise Rejected("campaign/not_active", f"{player_id} is {player.status}, not active")
                return [PlayerStatusChanged(player_id=player_id, status="following", at=now),
                        enforcement.post(state, "notice", state.settings.templates.marked_following.format(
                            name=player.character.name), now, "following")]
            case StartScene(title=title, description=description):
                require_gm(by)
                scene = Scene(n=(state.scene.n if state.scene else 0) + 1, title=title, description=description,
                              started_at=now)
                started = SceneStarted(scene=scene)
                text = f"{title}\n\n{description}" if description else title
                return [started, enforcement.post(self.evolve(state, started), "notice", text, now, "scene")]
            case SetMode(mode=mode):
                require_gm(by)
                if state.mode == "encounter":
                    raise Rejected("campaign/in_encounter", "end the encounter first (EndEncounter)")
                return [] if mode == state.mode else [ModeChanged(mode=mode, at=now)]
            case StartEncounter():
                require_gm(by)
                return start_encounter(state, command, ctx.address, now)
            case EndEncounter():
                require_gm(by)
                if state.encounter is None:
                    raise Rejected("campaign/no_encounter", "no encounter is running")
                return [EncounterClosed(n=state.encounter.n, reason="gm", at=now)]
            case SetDeadline(deadline_id=deadline_id, consequence=consequence):
                require_gm(by)
                due = command.due.timestamp() if command.due is not None else now + command.in_hours * HOUR
                if due <= now:
                    raise Rejected("campaign/deadline_in_past", "a deadline must lie in the future")
                return [DeadlineSet(deadline_id=deadline_id, due=due, consequence=consequence, at=now)]
            case ClearDeadline(deadline_id=deadline_id):
                require_gm(by)
                if deadline_id not in state.deadlines:
                    raise Rejected("campaign/no_such_deadline", f"no deadline {deadline_id!r}")
                return [DeadlineCleared(deadline_id=deadline_id, passed=False)]
            case ScheduleOrder(order_id=order_id):
                require_gm(by)
                if order_id in state.orders:
                    raise Rejected("campaign/order_exists", f"order {order_id!r} exists; cancel it or pick another id")
                due = command.due.timestamp() if command.due is not None else now + command.in_hours * HOUR
                if due <= now:
                    raise Rejected("campaign/order_in_past", "an order must be due in the future")
                return [OrderScheduled(order=Order(order_id=order_id, due=due, text=command.text, kind=command.kind,
                                                   follow_ups=command.follow_ups, created_at=now))]
            case CancelOrder(order_id=order_id):
                require_gm(by)
                order = state.orders.get(order_id)
                if order is None:
                    raise Rejected("campaign/no_such_order", f"no order {order_id!r}")
                if order.status not in ("pending", "active"):
                    raise Rejected("campaign/order_finished", f"order {order_id!r} is already {order.status}")
                return [OrderChanged(order_id=order_id, status="cancelled", steps_done=order.steps_done, at=now)]
            case NarrateNpc(npc=npc, hint=hint):
                require_gm(by)
                return [enforcement.post(state, "narration", f"{npc}: {hint}", now, "npc")]
            case NarrationDone():
                return narration.settle(state, command)
            case UpdateSettings(settings=change):
                require_gm(by)
                settings = merged_settings(state.settings, change)
                if (settings.narrator_model is not None and self.narrator is not None
                        and settings.narrator_model not in self.narrator.names):
                    raise Rejected("campaign/unknown_narrator_model", f"this server has no narrator model "
                                   f"{settings.narrator_model!r}; it offers {', '.join(self.narrator.names)}")
                return [] if settings == state.settings else [SettingsUpdated(settings=settings)]
            case CombatUpdate():
                return combat_update(state, command, self.evolve)
            case ChildFailed(child=child, error=error):
                if state.encounter is None or state.encounter.address != child:
                    return []
                return [enforcement.post(state, "notice", "The fight breaks off in confusion; the GM may start "
                                         "a new encounter.", now, "encounter_failed"),
                        EncounterClosed(n=state.encounter.n, reason=f"failed: {error}"[:500], at=now)]
        raise AssertionError(f"unhandled command {command!r}")

    def evolve(self, state: Campaign, event: Event) -> Campaign:
        match event:
            case CampaignCreated():
                return state.model_copy(update={"created": True, "title": event.title, "ruleset": event.ruleset,
                                                "gm": event.gm, "settings": event.settings, "created_at": event.at})
            case PlayerJoined(player=player):
                return state.model_copy(update={"players": {**state.players, player.player_id: player}})
            case CharacterChanged(player_id=player_id, hp=hp, conditions=conditions):
                player = state.players[player_id]
                character = player.character.model_copy(update={"hp": hp, "conditions": conditions})
                return state.model_copy(update={"players": {**state.players, player_id: player.model_copy(
                    update={"character": character})}})
            case Posted(post=post):
                update: dict[str, Any] = {"posts": (*state.posts, post)[-RECENT_POSTS:], "post_count": post.n}
                if post.kind == "action":
                    update["players"] = active_at(state, post.author, post.at)
                    update["last_player_action_at"] = post.at
                    update["unanswered"] = (*state.unanswered, post.n)
                    if state.awaiting_narration_since is None:
                        update["awaiting_narration_since"] = post.at
                elif post.author in state.players:  # a player's table talk or whisper: activity, not an action
                    update["players"] = active_at(state, post.author, post.at)
                else:
                    if post.kind == "narration":
                        update["last_narration_at"] = post.at
                    if post.author != enforcement.SERVER:  # only the GM answers the players, never the server
                        update["last_gm_post_at"] = post.at
                        if post.kind == "narration":
                            update["awaiting_narration_since"] = None
                            update["unanswered"] = ()
                if post.pending:
                    update["narrations"] = {**state.narrations, post.n: narration.pending(state, post)}
                return state.model_copy(update=update)
            case PostNarrated():
                return state.model_copy(update=narration.narrated(state, event))
            case PlayerStatusChanged(player_id=player_id, status=status):
                player = state.players[player_id].model_copy(update={"status": status, "status_since": event.at})
                return state.model_copy(update={"players": {**state.players, player_id: player}})
            case DeadlineSet():
                deadline = Deadline(deadline_id=event.deadline_id, due=event.due, consequence=event.consequence,
                                    set_at=event.at)
                return state.model_copy(update={"deadlines": {**state.deadlines, event.deadline_id: deadline}})
            case DeadlineCleared(deadline_id=deadline_id):
                return state.model_copy(update={"deadlines": {k: v for k, v in state.deadlines.items()
                                                              if k != deadline_id}})
            case SettingsUpdated(settings=settings):
                return state.model_copy(update={"settings": settings})
            case ModeChanged(mode=mode):
                return state.model_copy(update={"mode": mode})
            case SceneStarted(scene=scene):
                return state.model_copy(update={"scene": scene})
            case EncounterStarted(encounter=view):
                return state.model_copy(update={"mode": "encounter", "encounter": view, "encounters": view.n})
            case EncounterUpdated(encounter=view):
                return state.model_copy(update={"encounter": view})
            case EncounterClosed(xp=xp):
                return state.model_copy(update={"mode": "exploration", "encounter": None, "xp": state.xp + xp})
            case OrderScheduled(order=order):
                return state.model_copy(update={"orders": {**state.orders, order.order_id: order}})
            case OrderChanged():
                return state.model_copy(update={"orders": changed_orders(state.orders, event)})
            case DiceRolled(roll=roll, dice_used=dice_used):
                return state.model_copy(update={"rolls": (*state.rolls, roll)[-RECENT_ROLLS:], "roll_count": roll.n,
                                                "dice_used": dice_used,
                                                "players": active_at(state, roll.by, roll.at)})
            case PlayerActive(player_id=player_id, at=at):
                return state.model_copy(update={"players": active_at(state, player_id, at)})
            case PostEdited() | PostDeleted():
                return state.model_copy(update={"posts": posts.changed(state, event)})
            case InviteCreated() | InviteClaimed() | InviteRevoked():
                return state.model_copy(update={"invites": invites.evolve(state, event)})
            case DormancyChanged(dormant=True, at=at):
                return state.model_copy(update={"dormant_since": at})
            case DormancyChanged(slept_s=slept):
                return enforcement.slept(state, slept)
        raise AssertionError(f"unknown event {event!r}")


def player_acted(state: Campaign, player_id: str, text: str, at: float, kind: str = "action") -> list[Event]:
    """A player's post (an action, or ``ooc`` table talk): it brings an idle player back; the post comes last."""
    known_player(state, player_id)
    return [*returning(state, player_id, at), enforcement.post(state, kind, text, at, None, author=player_id)]


def returning(state: Campaign, player_id: str, at: float) -> list[Event]:
    """A player's own command brings them back to ``active`` (following or inactive before); "gm" is no player."""
    player = state.players.get(player_id)
    if player is None or player.status == "active":
        return []
    return [PlayerStatusChanged(player_id=player_id, status="active", at=at)]


def active_at(state: Campaign, player_id: str, at: float) -> dict[str, Player]:
    """The players, ``player_id`` (if one) seen at ``at``: every accepted command of theirs is activity."""
    player = state.players.get(player_id)
    if player is None:
        return state.players
    last = at if player.last_action_at is None else max(player.last_action_at, at)
    return {**state.players, player_id: player.model_copy(update={"last_action_at": last})}


def start_encounter(state: Campaign, command: StartEncounter, address: str, now: float) -> list[Event]:
    if state.encounter is not None:
        raise Rejected("campaign/in_encounter", f"encounter {state.encounter.n} is still running; end it first")
    if not combatants(state, command):
        raise Rejected("campaign/empty_encounter", "an encounter needs at least one combatant")
    n = state.encounters + 1
    view = EncounterView(n=n, address=f"combat/{address.split('/', 1)[1]}.{n}", started_at=now)
    return [EncounterStarted(encounter=view),
            enforcement.post(state, "notice", f"Encounter {n} begins. Roll for initiative!", now, "encounter")]


def combatants(state: Campaign, command: StartEncounter) -> tuple[Combatant, ...]:
    """The players named (default: all not inactive) and the creatures, validated."""
    players = command.players
    if players is None:
        players = tuple(p for p, player in state.players.items() if player.status != "inactive")
    for player_id in (*players, *command.initiative):
        known_player(state, player_id)
    for player_id, skill in command.initiative_skills.items():
        if skill not in known_player(state, player_id).character.skills:
            raise Rejected("campaign/unknown_skill", f"{state.players[player_id].character.name} has no skill "
                           f"{skill!r} to roll initiative with")
    fighters = [Combatant(cid=p, name=state.players[p].character.name, player_id=p,
                          initiative=command.initiative.get(p),
                          initiative_modifier=initiative_modifier(state.players[p].character.perception,
                                                                  state.players[p].character.skills,
                                                                  command.initiative_skills.get(p)),
                          stats=character_stats(state.players[p].character), hp=state.players[p].character.hp,
                          conditions=conditions_from_text(state.players[p].character.conditions),
                          zone=command.zones.get(p, "melee"))
                for p in dict.fromkeys(players)]
    taken = {f.cid for f in fighters}
    for i, npc in enumerate(command.npcs, 1):
        cid = npc.cid or f"npc-{i}"
        if cid in taken:
            raise Rejected("campaign/duplicate_combatant", f"two combatants are called {cid!r}")
        taken.add(cid)
        try:
            stats = None if npc.stats is None else adjusted(npc.stats, npc.adjustment)
        except ValueError as exc:
            raise Rejected("campaign/invalid_creature", f"{npc.name}: {exc}") from exc
        if npc.initiative is None and stats is None:
            raise Rejected("campaign/initiative_required", f"{npc.name} has no stats to roll initiative with: "
                           f"give its initiative")
        if npc.initiative_skill is not None and (stats is None or npc.initiative_skill not in stats.skills):
            raise Rejected("campaign/unknown_skill", f"{npc.name} has no skill {npc.initiative_skill!r}")
        modifier = 0 if stats is None else initiative_modifier(stats.perception, stats.skills, npc.initiative_skill)
        fighters.append(Combatant(cid=cid, name=npc.name, initiative=npc.initiative, initiative_modifier=modifier,
                                  stats=stats, hp=npc.hp, zone=npc.zone, agent=npc.agent))
    return tuple(fighters)


def initiative_modifier(perception: int, skills: dict[str, int], skill: str | None) -> int:
    return perception if skill is None else skills[skill]


def character_stats(character: Character) -> Stats:
    """A player character's stat block as the encounter rules read it."""
    return Stats(level=character.level, max_hp=character.max_hp, ac=character.ac,
                 fortitude=character.saves.fortitude, reflex=character.saves.reflex, will=character.saves.will,
                 perception=character.perception, strikes=character.strikes, skills=character.skills)


def encounter_difficulty(state: Campaign, request: Any) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """(XP budget, simulated roster) of the encounter a GM is building: ValueError says what does not fit."""
    players = request.players
    if players is None:
        players = [p for p, player in state.players.items() if player.status != "inactive"]
    unknown = [p for p in players if p not in state.players]
    if unknown:
        raise ValueError(f"not players in this campaign: {', '.join(unknown)}")
    party = [(character_stats(state.players[p].character), state.players[p].character.hp) for p in players]
    creatures = [adjusted(npc.stats, npc.adjustment) for npc in request.npcs if npc.stats is not None]
    if not creatures:
        raise ValueError("give at least one creature a stat block (stats) to rate the encounter")
    report = difficulty.budget([stats.level for stats, _ in party], [c.level for c in creatures],
                               [(h.level, h.complex) for h in request.hazards])
    return report, difficulty.roster(party, creatures)


def merged_settings(current: Settings, change: Settings) -> Settings:
    """``current`` with the fields ``change`` was given (``model_fields_set``, nested templates too)."""
    given = change.model_dump(exclude_unset=True)
    templates = {**current.templates.model_dump(), **given.pop("templates", {})}
    prompts = {**current.prompts.model_dump(), **given.pop("prompts", {})}
    return Settings.model_validate({**current.model_dump(), **given, "templates": templates, "prompts": prompts})


def combat_update(state: Campaign, update: CombatUpdate, evolve: Any) -> list[Event]:
    """Mirror what the encounter reports; post its actions and skips; close it when it ends."""
    view = state.encounter
    if view is None or view.n != update.n:
        if update.ended and state.encounter is None and update.n == state.encounters:
            return aftermath(state, update, evolve)  # the GM ended it: its marks and its summary still count
        return []  # a report from an encounter that is already closed
    events: list[Event] = []
    for player_id, text in update.acted:
        if player_id in state.players:
            for event in player_acted(state, player_id, text, update.at):
                events.append(event)
                state = evolve(state, event)
    posted = {player_id for player_id, _ in update.acted}
    for player_id in update.active:  # a button is activity as much as a post
        if player_id in state.players and player_id not in posted:
            for event in [*returning(state, player_id, update.at),
                          PlayerActive(player_id=player_id, at=update.at, what="combat")]:
                events.append(event)
                state = evolve(state, event)
    for reason, name in update.skipped:
        event = enforcement.post(state, "narration", state.settings.templates.skip.format(name=name), update.at, reason)
        events.append(event)
        state = evolve(state, event)
    if update.ended:
        closing = aftermath(state, update, evolve)
        for event in closing:
            state = evolve(state, event)
        events += closing
        if update.reason == "max_rounds":
            events.append(enforcement.post(state, "narration", state.settings.templates.encounter_over, update.at,
                                           "encounter_over"))
        elif update.reason in ("victory", "defeat"):
            text = (f"The fight is won. Each character earns {update.xp} XP." if update.reason == "victory"
                    else "The party has fallen.")
            events.append(enforcement.post(state, "notice", text, update.at, update.reason))
        events.append(EncounterClosed(n=update.n, reason=update.reason or "ended", at=update.at,
                                      xp=update.xp if update.reason == "victory" else 0))
        return events
    events.append(EncounterUpdated(encounter=view.model_copy(update={
        "round": update.round, "turn": update.turn, "current": update.current, "name": update.name,
        "player_id": update.player_id, "turn_started_at": update.turn_started_at, "turn_due": update.turn_due,
        "paused": update.paused})))
    return events


def aftermath(state: Campaign, update: CombatUpdate, evolve: Any) -> list[Event]:
    """An ended encounter's marks on the character sheets (hit points, conditions) and its summary post."""
    events: list[Event] = []
    for player_id, hp, conditions in update.characters:
        character = state.players[player_id].character if player_id in state.players else None
        if character is None:
            continue
        story = tuple(c for c in character.conditions if not kept_by_rules(c))
        if (character.hp, character.conditions) != (hp, story + conditions):
            events.append(CharacterChanged(player_id=player_id, hp=hp, conditions=story + conditions))
            state = evolve(state, events[-1])
    if update.summary:
        events.append(enforcement.post(state, "notice", update.summary, update.at, "encounter_summary"))
    return events


def encounter_tells(before: Campaign, after: Campaign, command: Command, events: list[Event]) -> list[Tell]:
    """What the running encounter must hear about this decision."""
    tells: list[Tell] = []
    for event in events:
        if isinstance(event, EncounterStarted):
            assert isinstance(command, StartEncounter)
            tells.append(Tell(event.encounter.address, BeginEncounter(
                campaign=event.encounter.address.split("/", 1)[1].rsplit(".", 1)[0], n=event.encounter.n,
                combatants=combatants(before, command), turn_idle_s=after.settings.combat_turn_idle_s,
                max_rounds=command.max_rounds)))
        elif isinstance(event, EncounterClosed) and before.encounter is not None and not (
                isinstance(command, CombatUpdate) and command.ended):
            tells.append(Tell(before.encounter.address, StopEncounter(reason=event.reason)))
    view = after.encounter
    if view is None or before.encounter is None or before.encounter.n != view.n:
        return tells
    for event in events:
        if isinstance(event, PlayerStatusChanged):
            was = before.players[event.player_id].status
            if event.status == "inactive":
                tells.append(Tell(view.address, RemoveCombatant(player_id=event.player_id)))
            elif was == "inactive":
                tells.append(Tell(view.address, RestoreCombatant(player_id=event.player_id)))
        elif isinstance(event, Posted) and event.post.kind == "action" and not isinstance(command, CombatUpdate):
            tells.append(Tell(view.address, PlayerActed(player_id=event.post.author, text=event.post.text)))
        elif (isinstance(event, SettingsUpdated)
              and event.settings.combat_turn_idle_s != before.settings.combat_turn_idle_s):
            tells.append(Tell(view.address, SetTurnLimit(turn_idle_s=event.settings.combat_turn_idle_s)))
    return tells


def changed_orders(orders: dict[str, Order], event: OrderChanged) -> dict[str, Order]:
    order = orders[event.order_id]
    update: dict[str, Any] = {"status": event.status, "steps_done": event.steps_done}
    if order.dispatched_at is None and event.steps_done >= 1:
        update["dispatched_at"] = event.at
    if event.status in ("completed", "cancelled"):
        update["finished_at"] = event.at
    orders = {**orders, event.order_id: order.model_copy(update=update)}
    finished = sorted((o.finished_at, o.order_id) for o in orders.values() if o.finished_at is not None)
    for _, order_id in finished[:max(0, len(finished) - FINISHED_ORDERS)]:
        del orders[order_id]
    return orders


def known_player(state: Campaign, player_id: str) -> Player:
    player = state.players.get(player_id)
    if player is None:
        raise Rejected("campaign/not_a_player", f"{player_id} has not joined this campaign")
    return player


def dice_rolled(state: Campaign, command: RollDice, by: dict[str, Any], address: str, now: float) -> DiceRolled:
    """Roll on the campaign's dice stream (seeded by its address) from where the last roll stopped."""
    if is_gm(by) and command.player_id is None:
        roller = "gm"
    else:
        roller = acting_player(by, command.player_id)
        known_player(state, roller)
    expression = parse(command.expression)  # the command's validator has read it once already
    stream = Stream(seed_of(address), state.dice_used)
    if command.faces is None:
        faces, total = roll_expression(expression, stream.die)
    else:
        if not (is_gm(by) or by.get("role") == "bridge"):
            raise Forbidden("dice/not_trusted", "only the GM or a VTT bridge may bring its own dice; roll here")
        faces, total = roll_expression(expression, supplied_die(command.faces, expression))
    roll = Roll(n=state.roll_count + 1, by=roller, expression=command.expression.replace(" ", "").lower(),
                faces=faces, total=total, reason=command.reason, at=now, supplied=command.faces is not None)
    return DiceRolled(roll=roll, dice_used=stream.counter)


def supplied_die(faces: tuple[int, ...], expression: Expression) -> Callable[[int], int]:
    """``die(sides)`` reading ``faces`` in order: refused unless they are as many as the dice and each fits its die."""
    wanted = sum(count for _, count, _ in expression.dice)
    if len(faces) != wanted:
        raise Rejected("dice/bad_faces", f"{len(faces)} faces given for {wanted} dice")
    given = iter(faces)

    def die(sides: int) -> int:
        face = next(given)
        if not 1 <= face <= sides:
            raise Rejected("dice/bad_faces", f"a d{sides} cannot show {face}")
        return face
    return die


def headline(text: str, width: int = 80) -> str:
    """A post's first line, cut to ``width``: what dice rolled with it are for, in the dice log."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[:width - 1] + "…"


def require_gm(by: dict[str, Any]) -> None:
    if not is_gm(by):
        raise Forbidden("campaign/gm_only", "only the campaign's GM (or an operator) may do this")


def acting_player(by: dict[str, Any], asked: str | None) -> str:
    """Whose action this is: a player token's own character, or the one a GM names."""
    own = by.get("character")
    if own and not is_gm(by):
        if asked is not None and asked != own:
            raise Forbidden("campaign/not_your_character", f"this token plays {own}, not {asked}")
        return own
    if asked is None:
        raise Rejected("campaign/player_required", "name the player_id this is for")
    return asked
