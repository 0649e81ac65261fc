"""filestore.serving: a private file goes to an authorised user, and to nobody by URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.http import Http404

from filestore.serving import private_file_response
from tests.seaweedfs import fetch


def test_object_storage_answers_with_a_short_lived_presigned_redirect(on_s3, settings):
    settings.PRIVATE_FILE_URL_SECONDS = 30
    rolls = storages["rolls"]
    rolls.save("4/metadata.json", ContentFile(b'{"run": 4}'))

    response = private_file_response(rolls, "4/metadata.json")

    assert response.status_code == 302
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["X-Amz-Expires"] == ["30"]
    status, body, headers = fetch(response["Location"])
    assert (status, body) == (200, b'{"run": 4}')
    assert headers["Content-Disposition"] == 'inline; filename="metadata.json"'


def test_object_storage_streams_through_the_app_when_redirects_are_off(on_s3, settings):
    settings.PRIVATE_FILES_REDIRECT = False
    rolls = storages["rolls"]
    rolls.save("4/roll-4.zip", ContentFile(b"PK" * 100_000))

    response = private_file_response(rolls, "4/roll-4.zip", as_attachment=True)

    assert response.status_code == 200
    assert response["Content-Length"] == "200000"
    assert response["Content-Disposition"] == 'attachment; filename="roll-4.zip"'
    assert b"".join(response.streaming_content) == b"PK" * 100_000


def test_a_local_folder_streams_the_file(settings, tmp_path):
    settings.ROLLS_ROOT = tmp_path
    rolls = storages["rolls"]
    rolls.save("4/station-001.pdf", ContentFile(b"%PDF-1.4"))

    response = private_file_response(rolls, "4/station-001.pdf")

    assert response.status_code == 200
    assert response["Content-Length"] == "8"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == b"%PDF-1.4"


def test_a_missing_local_file_is_not_found(settings, tmp_path):
    settings.ROLLS_ROOT = tmp_path

    with pytest.raises(Http404):
        private_file_response(storages["rolls"], "4/missing.pdf")


def test_a_missing_object_is_not_found(on_s3):
    with pytest.raises(Http404):
        private_file_response(storages["rolls"], "4/missing.pdf")
