"""The moderation console: staff sign-in, the review queue, decisions, appeals, transparency.

Mounted under ``/console/`` by the gateway (:func:`causerie.console.app.create_console`). Staff
accounts, sessions and the staff audit log are in :mod:`causerie.store.staff`; the decisions a
moderator takes are :mod:`causerie.moderation.actions`, which the command line calls too.
"""
