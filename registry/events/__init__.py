"""Events: what the registry wrote, pushed to subscribers (webhooks; docs/events.md).

The store's writes become :class:`~registry.events.catalog.Event` objects in
:mod:`.emitting`, land in an on-disk outbox (:mod:`.outbox`) before the request answers, and
one delivery worker across gunicorn's workers (:mod:`.worker`) fans them out to the
subscriptions of :mod:`.config` and sends them (:mod:`.sending`) under the rules of
:mod:`.rules`, keeping a bounded log per subscription (:mod:`.deliverylog`).
"""
