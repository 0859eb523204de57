"""Schemathesis against /api/v1/openapi.json: every operation, every check, no failure.

The app runs in-process (WSGI); examples are derandomized so a run is repeatable,
and bounded so the whole file stays under a minute on a busy 2-core box. The cases
come from schemathesis' strategies driven by Hypothesis here (its pytest plugin's
lazy fixtures do not run on this pytest).
"""

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.specs.openapi.checks import positive_data_acceptance

from followup.errors import ValidationFailed
from followup.services.validation import normalize_email

load_all_checks()
EVERY_CHECK = CHECKS.get_all()
# The document's `phone` format: numbers the server takes (any string is not one).
schemathesis.openapi.format(
    "phone", st.sampled_from(["+14155550100", "+44 20 7183 8750", "+49 30 901820"])
)


def _deliverable_looking(address: str) -> bool:
    try:
        normalize_email(address)
    except ValidationFailed:
        return False
    return True


# The server refuses some addresses the `email` format allows (special-use domains such
# as .test, which the document's description names): valid ones are those it takes.
schemathesis.openapi.format("email", st.emails().filter(_deliverable_looking))
EXAMPLES_PER_OPERATION = 12
# The reports' period joins two parameters (From and To both or neither, From not after
# To, at most 366 days): OpenAPI cannot say so, so a schema-valid query may rightly be
# refused there (422, in our words; tests/reports check each refusal).
JOINT_RULES = {"/reports/summary": [positive_data_acceptance]}


# A body over the API's limit is refused before it is read, with 413 (documented on each
# operation that takes one); schemathesis' own list of refusals does not name it.
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}}}
)


@pytest.fixture
def api_schema(app, tenant, api_token, make_followup):
    # Requests to read and change: the ids 1 and 2 exist for the token's tenant.
    make_followup(tenant)
    make_followup(tenant)
    app.config["API_RATE_LIMIT"] = "100000 per minute"
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)


@pytest.mark.parametrize("mode", list(GenerationMode))
def test_the_api_keeps_its_openapi_document(api_schema, api_token, mode):
    headers = {"Authorization": f"Bearer {api_token}"}
    keys = itertools.count()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        excluded = JOINT_RULES.get(operation.path, [])

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            if case.headers and "Idempotency-Key" in case.headers:
                # A key is a promise that the body is the same: a generated key met
                # again with another body is rightly a 422, so each case gets its own.
                case.headers["Idempotency-Key"] = f"case-{next(keys)}"
            case.call_and_validate(
                headers=headers,
                checks=EVERY_CHECK,
                excluded_checks=excluded,  # noqa: B023 (check() runs in this iteration)
            )

        check()
