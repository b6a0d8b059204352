"""One 300-patient cohort shared by the demo unit tests (generating it takes a fraction of a second)."""

import pytest

from services.demo.cohort import Cohort, generate_cohort


@pytest.fixture(scope="package")
def cohort() -> Cohort:
    return generate_cohort(300, seed=7)
