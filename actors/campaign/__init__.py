"""The campaign actor (``campaign/{id}``): play-by-post games that never stall.

``state`` holds the shapes, ``messages`` the commands and events, ``enforcement`` the pure
rules that decide what is due when nobody acts, ``behavior`` ties them into an actor kind.
"""
from .behavior import CampaignKind

__all__ = ["CampaignKind"]
