// Who is who between a Foundry world and an Everturn campaign (docs/bridge.md, "Who is who").
//
// A user is the player named by its flag `everturn.playerId`, else its name made into an id
// ("Ayla" is `ayla`). An actor is its flag's player, else its first owner who is not a GM; an
// actor no player owns is a creature (null). Flags are read from `flags` directly: getFlag()
// refuses a scope that is not an active package, and "everturn" is the campaign's, not ours.

export const MODULE_ID = "everturn-bridge";
const OWNER = 3; // CONST.DOCUMENT_OWNERSHIP_LEVELS.OWNER, the same in v12 and v13

/** The Everturn player id of a Foundry user (GM or not). */
export function playerOfUser(user) {
  const flagged = user?.flags?.everturn?.playerId;
  if (typeof flagged === "string" && flagged) return flagged;
  // Everturn's player ids are ASCII (^[A-Za-z0-9_-]{1,64}$), so "Zoë" is `zo-`.
  return String(user?.name ?? "").toLowerCase().replace(/[^a-z0-9_-]/g, "-").slice(0, 64) || null;
}

/** The Everturn player id an actor belongs to, or null for a creature the GM runs. */
export function playerOfActor(actor, users) {
  if (!actor) return null;
  const flagged = actor.flags?.everturn?.playerId;
  if (typeof flagged === "string" && flagged) return flagged;
  for (const [userId, level] of Object.entries(actor.ownership ?? {})) {
    if (userId === "default" || level < OWNER) continue;
    const user = users.get(userId);
    if (user && !user.isGM) return playerOfUser(user);
  }
  return null;
}

/** The Foundry users (not GMs) who are the player `playerId`. */
export function usersOfPlayer(playerId, users) {
  return [...users.values()].filter((user) => !user.isGM && playerOfUser(user) === playerId);
}

/** The actor that plays for `playerId`: flagged, else the user's assigned character, else one it owns. */
export function actorOfPlayer(playerId, game) {
  const actors = [...game.actors.values()];
  const flagged = actors.find((actor) => actor.flags?.everturn?.playerId === playerId);
  if (flagged) return flagged;
  for (const user of usersOfPlayer(playerId, game.users)) {
    if (user.character) return user.character;
  }
  const owned = actors.filter((actor) => playerOfActor(actor, game.users) === playerId);
  return owned.find((actor) => actor.type === "character") ?? owned[0] ?? null;
}

/** The Everturn id of a combatant: its player's, else the id Everturn gave it, else Foundry's. */
export function combatantRef(combatant, users) {
  return playerOfActor(combatant.actor, users) ?? combatant.flags?.[MODULE_ID]?.cid ?? combatant.id;
}

/** Whether a combatant is the one Everturn calls `ref` (a player id, Everturn's cid or Foundry's id). */
export function isCombatant(combatant, ref, users) {
  if (!combatant || typeof ref !== "string") return false;
  return combatant.id === ref || combatant.flags?.[MODULE_ID]?.cid === ref
    || playerOfActor(combatant.actor, users) === ref;
}

/** The combat running in the world (started), the same in every GM's browser. */
export function runningCombat(game) {
  if (game.combat?.started) return game.combat;
  return [...game.combats.values()].find((combat) => combat.started) ?? null;
}
