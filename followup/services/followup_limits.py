"""How much each field of a follow-up request may hold: the limits the request service
validates against, the API's description states, and the capture in conversation
cuts what it heard to."""

MAX_NAME = 200
MAX_EMAIL = 320
MAX_PHONE = 40
MAX_REASON = 5000
MAX_SUMMARY = 10000
MAX_NOTES = 20000
MAX_NOTES_VERSION = 2**31 - 1  # the column is a 32-bit integer
