"""Followup: AI employees that make sure nobody is left without an answer.

The application is made by `followup.factory.create_app`."""
