"""Organisation levels: one vocabulary for CLI options, API parameters, exports and tables."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    ENGLAND = "england"
    REGION = "region"
    ICB = "icb"
    SUB_ICB = "sub-icb"
    PCN = "pcn"
    PRACTICE = "practice"
    TRUST = "trust"
    STROKE_UNIT = "stroke-unit"
    ISDN = "isdn"

    @classmethod
    def parse(cls, text: str) -> "Level":
        """Parse a level name, with an error that lists the valid names."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(level.value for level in cls)
            raise ValueError(f"unknown organisation level {text!r}; use one of: {names}") from None


# The code used for the single England organisation.
ENGLAND_CODE = "ENG"

# The roll-up paths through the hierarchy (child -> parent), by level of the data.
ROLLUP_PATHS: dict[Level, list[Level]] = {
    Level.PRACTICE: [Level.PRACTICE, Level.PCN, Level.SUB_ICB, Level.ICB, Level.REGION, Level.ENGLAND],
    Level.PCN: [Level.PCN, Level.SUB_ICB, Level.ICB, Level.REGION, Level.ENGLAND],
    Level.SUB_ICB: [Level.SUB_ICB, Level.ICB, Level.REGION, Level.ENGLAND],
    Level.ICB: [Level.ICB, Level.REGION, Level.ENGLAND],
    Level.REGION: [Level.REGION, Level.ENGLAND],
    Level.TRUST: [Level.TRUST, Level.ICB, Level.REGION, Level.ENGLAND],
    Level.STROKE_UNIT: [Level.STROKE_UNIT, Level.ICB, Level.REGION, Level.ENGLAND],
    Level.ISDN: [Level.ISDN, Level.ENGLAND],
    Level.ENGLAND: [Level.ENGLAND],
}
