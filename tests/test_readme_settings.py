"""The README's configuration tables say what the settings module reads, no more, no less."""

import re
from pathlib import Path

from assetstore.settings import ServiceSettings, documented_variables, markdown_table

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_settings_table_is_the_generated_one():
    start = README.index("<!-- settings table")
    block = README[README.index("\n", start) + 1 : README.index("<!-- end of settings table -->")]
    assert block.strip() == markdown_table()


def test_every_service_setting_is_in_the_service_table():
    section = README[README.index("### Settings") : README.index("### Federated search")]
    listed = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)?", section, re.M))
    names = {name for pair in listed for name in pair if name}
    assert names == set(ServiceSettings.model_fields)


def test_every_variable_the_readme_names_is_read():
    known = set(documented_variables()) | {
        f"ASSETSTORE_{f.upper()}" for f in ServiceSettings.model_fields
    }
    named = set(
        re.findall(
            r"\b(ASSETSTORE_[A-Z0-9_]+|AWS_[A-Z_]+|S3_[A-Z_]+|MONGO_URL|PUBLIC_URL)\b", README
        )
    )
    named -= {"ASSETSTORE_TEST_MONGO_URL"}  # the test suite's own switch
    assert named - known == set()
