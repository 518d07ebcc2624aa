"""Loading a campaign from its snapshot: settings are validated once per distinct value and shared."""
from __future__ import annotations

import pytest

from actors.behavior import UnknownSchema
from actors.campaign.behavior import CampaignKind
from actors.campaign.state import SETTINGS_KEPT, HOUR, Campaign, Settings, _SHARED_SETTINGS

KIND = CampaignKind()


def stored(**settings: object) -> dict:
    state = Campaign(created=True, title="Marsh", settings=Settings(**settings))
    return KIND.dump_state(state)


def test_campaigns_with_the_same_settings_share_one_instance() -> None:
    first, second = KIND.load_state(stored()), KIND.load_state(stored())
    assert first.settings is second.settings
    assert first.settings == Settings()


def test_different_settings_keep_their_own_values() -> None:
    custom = KIND.load_state(stored(exploration_idle_s=2 * HOUR))
    default = KIND.load_state(stored())
    assert custom.settings.exploration_idle_s == 2 * HOUR
    assert default.settings.exploration_idle_s == Settings().exploration_idle_s
    assert custom.settings is not default.settings


def test_stored_settings_that_do_not_validate_are_still_refused() -> None:
    bad = stored()
    bad["s"]["settings"]["exploration_idle_s"] = 1  # below the 60 s floor
    with pytest.raises(UnknownSchema, match="exploration_idle_s"):
        KIND.load_state(bad)
    good = KIND.load_state(stored())  # a refused value is not remembered as valid
    assert good.settings.exploration_idle_s == Settings().exploration_idle_s


def test_the_shared_settings_are_bounded() -> None:
    for n in range(SETTINGS_KEPT + 10):
        KIND.load_state(stored(exploration_idle_s=HOUR + n))
    assert len(_SHARED_SETTINGS) <= SETTINGS_KEPT
    assert KIND.load_state(stored(exploration_idle_s=HOUR + 3)).settings.exploration_idle_s == HOUR + 3
