"""Outbound webhooks: a table's notices (``actors.campaign.notices``) sent to URLs its GM and players give.

- ``targets``: which URLs may be called (https only and public addresses, unless the operator allows
  private ones), resolved once per delivery and called at the address that was checked
- ``records``: the webhooks, the delivery outbox and each webhook's recent deliveries, in the
  store's meta column family, so they outlive a restart
- ``sending``: one delivery: a Discord-compatible JSON body, signed with HMAC-SHA256, no redirects,
  a short timeout and a cap on what is read back
- ``service``: the server's task: it reads each campaign's journal after its cursor, puts what its
  webhooks should hear into the outbox, and delivers it, retrying with backoff
"""
