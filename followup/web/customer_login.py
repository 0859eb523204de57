"""The page a customer's one-time login link opens."""

from flask import Blueprint

bp = Blueprint("customer_login", __name__)
