"""Store tests: the contract lives in a plain module, so ask pytest to rewrite its asserts."""

import pytest

pytest.register_assert_rewrite(
    "tests.store.contract", "tests.store.contract_experiments", "tests.store.contract_models"
)
