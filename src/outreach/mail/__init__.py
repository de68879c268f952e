"""Email owed to people: the outbox (:mod:`outreach.mail.outbox`), how a notice is written
(:mod:`outreach.mail.render`) and the worker that delivers it (:mod:`outreach.mail.delivery`)."""
