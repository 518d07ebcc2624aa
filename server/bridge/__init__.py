"""The virtual-tabletop bridge (issue 24): what Everturn asks a VTT world to carry out, queued durably
with priorities, expiry and acks (``queue``).  The transports, the emitter's election and the Foundry
module build on it."""
