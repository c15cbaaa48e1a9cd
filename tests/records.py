"""A post-incident record a person wrote: every required section filled (issue #17)."""

RECORD = """# Post-incident record

## Summary

Payments failed at every branch for two hours.

## Cause

The connection pool ran out after a config push.

## Resolution

Config rolled back, pool resized, runs re-queued.

## Lessons

Review pool settings before a config push goes out.
"""

PLACEHOLDERS = {
    "(What happened and its impact, in your words.)": "Payments failed at every branch.",
    "(not recorded: say what caused it)": "The connection pool ran out.",
    "(What to change so it does not happen again.)": "Review pool settings before a push.",
}


def filled(draft: str) -> str:
    """The draft with every placeholder replaced by a person's words."""
    for placeholder, words in PLACEHOLDERS.items():
        draft = draft.replace(placeholder, words)
    return draft
