"""The policy's harm categories: one name per category, shared by rule packs, models and reports."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    # Child sexual exploitation and grooming signals.
    CHILD_SAFETY = "child_safety"
    SEXUAL = "sexual"
    # Prostitution and paid solicitation.
    SOLICITATION = "solicitation"
    DRUGS = "drugs"
    WEAPONS = "weapons"
    # Threats and violence, including meeting lures for ambushes.
    VIOLENCE = "violence"
    # Harassment and hate.
    HARASSMENT = "harassment"
    # Phone numbers, addresses, emails.
    PERSONAL_DATA = "personal_data"
    # Moves to another app (Snapchat, Telegram, WhatsApp handles and requests).
    OFF_PLATFORM = "off_platform"
    # Spam and scams: links, repeated text.
    SPAM = "spam"
