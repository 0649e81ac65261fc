"""filestore.configuration: STORAGES from the environment, loud about what is missing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from filestore.configuration import from_environment

S3 = {"FILE_STORAGE": "s3", "S3_BUCKET": "backlot", "S3_ENDPOINT_URL": "http://s3.internal:8333"}


def options(storages: dict, alias: str) -> dict:
    return storages[alias]["OPTIONS"]


def test_nothing_set_means_local_folders_with_private_uploads_and_rolls():
    storages, media_url = from_environment({})

    assert media_url == "media/"
    assert {alias: options(storages, alias).get("public", True) for alias in storages} == {
        "default": True,
        "uploads": False,
        "rolls": False,
    }
    assert options(storages, "rolls")["location_setting"] == "ROLLS_ROOT"


def test_one_bucket_holds_three_prefixes_and_only_media_is_public():
    storages, media_url = from_environment(S3)

    assert media_url == "http://s3.internal:8333/backlot/media/"
    assert [options(storages, a)["location"] for a in ("default", "uploads", "rolls")] == [
        "media",
        "uploads",
        "rolls",
    ]
    assert {options(storages, a)["bucket_name"] for a in storages} == {"backlot"}
    assert [options(storages, a)["public"] for a in ("default", "uploads", "rolls")] == [
        True,
        False,
        False,
    ]
    assert options(storages, "uploads")["addressing_style"] == "path"


def test_a_bucket_per_storage_a_cdn_and_the_endpoint_browsers_reach():
    storages, media_url = from_environment(
        {
            **S3,
            "S3_MEDIA_BUCKET": "public-media",
            "S3_MEDIA_PREFIX": "",
            "S3_PUBLIC_ENDPOINT_URL": "https://files.example.com",
            "MEDIA_URL": "https://cdn.example.com/",
        }
    )

    assert media_url == "https://cdn.example.com/"
    assert options(storages, "default")["public_base_url"] == "https://cdn.example.com/"
    assert options(storages, "default")["bucket_name"] == "public-media"
    assert options(storages, "default")["location"] == ""
    assert options(storages, "rolls")["public_endpoint_url"] == "https://files.example.com"
    assert options(storages, "rolls")["endpoint_url"] == "http://s3.internal:8333"


def test_aws_defaults_to_virtual_hosted_bucket_addresses():
    storages, media_url = from_environment(
        {"FILE_STORAGE": "s3", "S3_BUCKET": "backlot", "S3_REGION": "eu-west-1"}
    )

    assert media_url == "https://backlot.s3.eu-west-1.amazonaws.com/media/"
    assert options(storages, "default")["addressing_style"] == "virtual"
    assert options(storages, "default")["endpoint_url"] is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"FILE_STORAGE": "nfs"}, "FILE_STORAGE must be local or s3"),
        ({"FILE_STORAGE": "s3"}, "set S3_BUCKET"),
        ({**S3, "S3_BUCKET": "", "S3_MEDIA_BUCKET": "m"}, "S3_UPLOADS_BUCKET"),
        ({**S3, "S3_ADDRESSING_STYLE": "dns"}, "S3_ADDRESSING_STYLE must be path or virtual"),
    ],
)
def test_a_wrong_or_missing_variable_is_named(environ, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        from_environment(environ)
