"""The domain: plain functions taking ids and values and raising `followup.errors`.

Nothing here touches `flask.request` or templates, so the admin pages, the REST
API, the widget and the jobs all share one implementation of every rule.
"""
