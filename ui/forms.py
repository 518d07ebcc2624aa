"""What the setup and character forms send: pure functions from form values to command data, each
raising ``FormError`` with a sentence a person understands (tested without a browser).

The server validates everything again; these only turn what people type (hours, "Stealth +7",
"longsword +9 1d8+4 agile") into the API's shapes, and catch the mistakes a form can name.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

HOUR = 3600.0
PACE_FIELDS = {"combat_turn_idle_s": "combat turn skipped after", "exploration_idle_s": "follows the party after",
               "inactive_s": "inactive after"}  # the 4 h / 12 h / 24 h thresholds, in hours on the form
ZONES = sorted(zone for zone in available_timezones() if "/" in zone and not zone.startswith(("Etc/", "SystemV/")))


class FormError(ValueError):
    """A form value that cannot be sent as it is; the message says what to write instead."""


def slug(title: str) -> str:
    """A campaign id from its title: ``The Sunken Crown!`` -> ``the-sunken-crown``."""
    words = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return words[:48].rstrip("-") or "campaign"


def campaign_id(value: str) -> str:
    value = value.strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
        raise FormError("the campaign id takes 1-64 letters, digits, '-' or '_' (it is part of every link)")
    return value


def hours(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FormError(f"{what}: write a number of hours") from None
    if not 1 / 60 <= number <= 30 * 24:
        raise FormError(f"{what}: between 1 minute (0.017) and 720 hours")
    return number


def settings_data(values: dict[str, Any]) -> dict[str, Any]:
    """``UpdateSettings``/``CreateCampaign`` settings from the form: pace in hours, the time zone, the narrator."""
    data: dict[str, Any] = {field: hours(values[field], label) * HOUR for field, label in PACE_FIELDS.items()
                            if values.get(field) not in (None, "")}
    zone = (values.get("timezone") or "UTC").strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise FormError(f"unknown time zone {zone!r}: pick one from the list (e.g. Europe/Berlin)") from None
    data["timezone"] = zone
    if "narrator" in values:
        data["narrator"] = bool(values["narrator"])
    model = (values.get("narrator_model") or "").strip()
    if "narrator_model" in values:
        data["narrator_model"] = model or None
    templates: dict[str, Any] = {}
    for name, text in (values.get("templates") or {}).items():
        if text and text.strip():  # "advance" is several texts, one a line
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            templates[name] = lines if name == "advance" else text.strip()
    if templates:
        data["templates"] = templates
    prompts = {name: {"system": parts["system"].strip(), "user": parts["user"].strip()}
               for name, parts in (values.get("prompts") or {}).items()
               if (parts.get("system") or "").strip() and (parts.get("user") or "").strip()}
    if prompts:
        data["prompts"] = prompts
    return data


def pace_hours(settings: Any) -> dict[str, float]:
    """The form's pace fields (hours) from a campaign's settings."""
    return {field: round(getattr(settings, field) / HOUR, 3) for field in PACE_FIELDS}


def due_time(local: str, zone: str) -> str:
    """``2026-12-24 18:00`` in the campaign's time zone -> an ISO time with its offset, for ``due``."""
    try:
        moment = datetime.strptime(local.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise FormError("write the time as YYYY-MM-DD HH:MM (the campaign's time zone)") from None
    return moment.replace(tzinfo=ZoneInfo(zone)).isoformat()


def when(in_hours: Any, at: str, zone: str) -> dict[str, Any]:
    """``{"due": ...}`` for a time given, else ``{"in_hours": ...}``."""
    if at and at.strip():
        return {"due": due_time(at, zone)}
    if in_hours in (None, ""):
        raise FormError("say when: a number of hours from now, or a time")
    number = float(in_hours)
    if number <= 0:
        raise FormError("the hours from now must be more than 0")
    return {"in_hours": number}


def follow_ups(text: str) -> list[dict[str, Any]]:
    """Follow-ups, one a line: ``+6h The bells ring again.`` (hours after the order lands)."""
    out = []
    for number, line in enumerate((line.strip() for line in text.splitlines()), 1):
        if not line:
            continue
        match = re.fullmatch(r"\+?\s*(\d+(?:\.\d+)?)\s*h\s+(.+)", line)
        if match is None:
            raise FormError(f"follow-up line {number}: write '+6h what happens' (hours after the order)")
        out.append({"after_hours": float(match.group(1)), "text": match.group(2).strip()})
    if [f["after_hours"] for f in out] != sorted(f["after_hours"] for f in out):
        raise FormError("follow-ups go in order of their hours")
    return out


def skills(text: str) -> dict[str, int]:
    """``Stealth +7, athletics 5`` -> ``{"stealth": 7, "athletics": 5}``."""
    out: dict[str, int] = {}
    for part in (p.strip() for p in re.split(r"[,;\n]", text or "")):
        if not part:
            continue
        match = re.fullmatch(r"([A-Za-z][A-Za-z ()'-]*?)\s*([+-]?\d+)", part)
        if match is None:
            raise FormError(f"skill {part!r}: write a name and a modifier, e.g. 'Stealth +7'")
        out[match.group(1).strip().lower()] = int(match.group(2))
    return out


STRIKE = re.compile(r"(?P<name>.+?)\s+(?P<attack>[+-]\d+)\s+(?P<damage>[0-9dD+\- ]+?)(?:\s+(?P<traits>[A-Za-z ,]+))?")
TRAITS = {"agile", "ranged", "finesse", "deadly", "reach", "thrown", "sweep", "forceful", "versatile", "two-hand",
          "backswing", "trip", "shove", "grapple", "nonlethal", "propulsive", "volley", "fatal", "unarmed"}
DAMAGE_TYPES = {"slashing", "piercing", "bludgeoning", "fire", "cold", "electricity", "acid", "sonic", "poison",
                "mental", "force", "vitality", "void", "spirit", "physical"}


def strikes(text: str) -> list[dict[str, Any]]:
    """One strike a line: ``Longsword +9 1d8+4 slashing`` or ``Shortbow +8 1d6 piercing ranged agile``."""
    out = []
    for number, line in enumerate((line.strip() for line in (text or "").splitlines()), 1):
        if not line:
            continue
        match = STRIKE.fullmatch(line)
        if match is None:
            raise FormError(f"strike line {number}: write 'name +attack damage [type] [traits]', "
                            f"e.g. 'Longsword +9 1d8+4 slashing'")
        words = (match.group("traits") or "").replace(",", " ").lower().split()
        unknown = [w for w in words if w not in TRAITS and w not in DAMAGE_TYPES]
        if unknown:
            raise FormError(f"strike line {number}: unknown trait or damage type {unknown[0]!r}")
        kinds = [w for w in words if w in DAMAGE_TYPES]
        out.append({"name": match.group("name").strip(), "attack": int(match.group("attack")),
                    "damage": match.group("damage").replace(" ", ""),
                    "damage_type": kinds[0] if kinds else "physical",
                    "agile": "agile" in words, "ranged": "ranged" in words or "thrown" in words})
    return out


def number(values: dict[str, Any], field: str, label: str) -> int:
    try:
        return int(values[field])
    except (KeyError, TypeError, ValueError):
        raise FormError(f"{label}: write a whole number") from None


def character_data(values: dict[str, Any]) -> dict[str, Any]:
    """A ``JoinCampaign`` character from the sheet form."""
    name = (values.get("name") or "").strip()
    if not name:
        raise FormError("give your character a name")
    ancestry, klass = (values.get("ancestry") or "").strip(), (values.get("class") or "").strip()
    max_hp = number(values, "max_hp", "Max HP")
    data: dict[str, Any] = {
        "name": name[:80], "level": number(values, "level", "Level"), "max_hp": max_hp,
        "hp": number(values, "hp", "HP") if values.get("hp") not in (None, "") else max_hp,
        "ac": number(values, "ac", "AC"), "perception": number(values, "perception", "Perception"),
        "saves": {"fortitude": number(values, "fortitude", "Fortitude"), "reflex": number(values, "reflex", "Reflex"),
                  "will": number(values, "will", "Will")},
        "skills": skills(values.get("skills") or ""), "strikes": strikes(values.get("strikes") or ""),
    }
    if ancestry:
        data["ancestry"] = ancestry[:60]
    if klass:
        data["class_name"] = klass[:60]
    return data


def post_command(mode: str, text: str, gm: bool, extra: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The command the composer sends: ``mode`` is ic, npc, ooc or whisper; ``extra`` holds the roll, the NPC's
    name, the whisper's recipients and, for the GM, whom it posts as ("gm" or a player id)."""
    data: dict[str, Any] = {"text": text}
    roll = (extra.get("roll") or "").strip()
    acting_for = extra.get("as") if gm and extra.get("as") not in (None, "gm") else None
    if mode == "whisper":
        to = list(extra.get("to") or [])
        if not to:
            raise FormError("pick whom to whisper to")
        return "Whisper", {**data, "to": to}
    if roll:
        data["roll"] = roll
    if mode == "ooc":
        data["ooc"] = True
    if gm and acting_for is None:
        if mode == "npc":
            speaker = (extra.get("speaker") or "").strip()
            if not speaker:
                raise FormError("name the NPC who speaks")
            data["speaker"] = speaker
        return "PostNarration", data
    if acting_for is not None:
        data["player_id"] = acting_for
    return "PostAction", data


def creature_data(values: dict[str, Any]) -> dict[str, Any]:
    """A bestiary entry (``PUT .../bestiary/{id}``) from the creature form: its normal stat block."""
    name = (values.get("name") or "").strip()
    if not name:
        raise FormError("give the creature a name")
    stats = {"level": number(values, "level", "Level"), "max_hp": number(values, "max_hp", "HP"),
             "ac": number(values, "ac", "AC"), "fortitude": number(values, "fortitude", "Fortitude"),
             "reflex": number(values, "reflex", "Reflex"), "will": number(values, "will", "Will"),
             "perception": number(values, "perception", "Perception"), "skills": skills(values.get("skills") or ""),
             "strikes": strikes(values.get("strikes") or ""), "tactics": values.get("tactics") or "brute",
             "shield": bool(values.get("shield"))}
    if not stats["strikes"]:
        raise FormError("give the creature at least one strike, e.g. 'Claw +9 2d6+4 slashing'")
    return {"name": name[:80], "stats": stats, "notes": (values.get("notes") or "").strip()[:2000]}


def creature_id(name: str, taken: set[str]) -> str:
    """A new bestiary id from a creature's name, not one of ``taken``."""
    base = slug(name)[:56] or "creature"
    found, n = base, 1
    while found in taken:
        n += 1
        found = f"{base}-{n}"
    return found


def roster_npcs(roster: list[dict[str, Any]], creatures: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """``StartEncounter`` npcs from the builder's rows (creature id, count, weak/elite, run by hand): names
    numbered where a creature comes more than once (``Goblin 1``, ``Goblin 2``)."""
    total: dict[str, int] = {}
    for row in roster:
        total[row["creature_id"]] = total.get(row["creature_id"], 0) + int(row["count"])
    seen: dict[str, int] = {}
    npcs = []
    for row in roster:
        creature = creatures.get(row["creature_id"])
        if creature is None:
            raise FormError(f"the bestiary has no {row['creature_id']!r} any more")
        for _ in range(int(row["count"])):
            seen[row["creature_id"]] = seen.get(row["creature_id"], 0) + 1
            name = creature["name"] + (f" {seen[row['creature_id']]}" if total[row["creature_id"]] > 1 else "")
            npcs.append({"name": name[:80], "stats": creature["stats"], "adjustment": row.get("adjustment", "normal"),
                         "agent": bool(row.get("by_hand"))})
    if not npcs:
        raise FormError("add at least one creature to the encounter")
    return npcs
