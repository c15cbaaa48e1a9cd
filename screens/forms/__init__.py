"""The modal forms of the triage actions, one a file; `ActionForm` is what they share.

A form runs its action in a thread worker. A refusal (a rule, a permission, a stale
version) is shown inside the form and everything typed stays; a stale write is never
applied silently: the form shows who changed what and applies only when submitted
again, on the version now shown.
"""

from opsdeck.screens.forms.base import ActionForm, Perform
from opsdeck.screens.forms.classify import ClassifyForm
from opsdeck.screens.forms.close import CloseForm
from opsdeck.screens.forms.fields import FieldsForm
from opsdeck.screens.forms.new_incident import NewIncidentForm
from opsdeck.screens.forms.pick import PickForm, channel_hint, obligation_choices, owner_choices
from opsdeck.screens.forms.text import TextForm

__all__ = [
    "ActionForm",
    "ClassifyForm",
    "CloseForm",
    "FieldsForm",
    "NewIncidentForm",
    "Perform",
    "PickForm",
    "TextForm",
    "channel_hint",
    "obligation_choices",
    "owner_choices",
]
