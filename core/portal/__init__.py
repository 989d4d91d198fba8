"""`disval serve`: the portal where providers deliver, and its JSON API (issue 14).

The third part of disval, beside validation and processing: a Starlette app
(`disval.core.portal.app.create_app`) with server-rendered pages for
providers (`pages`) and operators (`operator`), a JSON API for vendors'
export jobs (`api`), accounts and access (`accounts`), uploads (`uploads`)
and the in-process worker that drains the queue through the gate
(`worker`). It adds no second model of the domain: deliveries, statuses and
reports are the store's and the gate's.
"""
