"""Help desks: each one's hook (a webhook in, an event out) and its writes back to the case.

One module per help desk (`zendesk`, `freshdesk`, ...), each a `HelpDesk` (see `base`);
`registry.helpdesks()` builds those this installation has from the settings.
"""
