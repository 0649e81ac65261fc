"""Hand a private file to a user the calling view has already authorised.

On object storage the answer is a redirect to a presigned URL that lives
``PRIVATE_FILE_URL_SECONDS``: the download then comes straight from the storage, so a
gigabyte zip holds no web process for minutes, and resumes and range requests work.
The view still decides, on every request, who may have the file; the URL it hands
out names one object, and expires. With ``PRIVATE_FILES_REDIRECT=0`` (storage that
browsers cannot reach), and always on local folders, the file is streamed through
the web process instead.
"""

from __future__ import annotations

import posixpath

from django.conf import settings
from django.core.files.storage import Storage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.cache import patch_cache_control


def private_file_response(
    storage: Storage, name: str, *, filename: str | None = None, as_attachment: bool = False
) -> HttpResponseBase:
    """Return a response that delivers ``name`` of ``storage``; Http404 if it is missing."""
    filename = filename or posixpath.basename(name)
    if settings.PRIVATE_FILES_REDIRECT and hasattr(storage, "presigned_url"):
        if not storage.exists(name):
            raise Http404("No such file.")
        url = storage.presigned_url(
            name,
            expires=settings.PRIVATE_FILE_URL_SECONDS,
            filename=filename,
            as_attachment=as_attachment,
        )
        response: HttpResponseBase = HttpResponseRedirect(url)
    else:
        try:
            file = storage.open(name, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            # A folder, or a name under a file: no file of that name either.
            raise Http404("No such file.") from None
        response = FileResponse(file, as_attachment=as_attachment, filename=filename)
        if "Content-Length" not in response and file.size is not None:
            response["Content-Length"] = str(file.size)
    # Personal data, and a redirect that stops working: no cache keeps either.
    patch_cache_control(response, private=True, no_store=True)
    return response
