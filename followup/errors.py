"""Domain errors. Services raise them; `followup.web.errors` maps them to HTTP in one place,
translating the message there when the catalogues have it (`followup.locales.mark`)."""

from followup.locales import mark


class DomainError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(DomainError):
    code = "not_found"
    http_status = 404

    def __init__(self, message: str = mark("Not found.")):
        super().__init__(message)


class ValidationFailed(DomainError):
    code = "validation_failed"
    http_status = 422

    def __init__(self, fields: dict[str, str], message: str = mark("Some fields are not valid.")):
        super().__init__(message, fields)


class TransitionNotAllowed(DomainError):
    code = "transition_not_allowed"
    http_status = 409
