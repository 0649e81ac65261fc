from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from posts import services, uploads
from posts.forms import UserPostForm
from posts.models import UserPost

logger = logging.getLogger(__name__)

STORAGE_DOWN = (
    "The file storage is not answering, so your image was not saved. Try again in a minute."
)
# 12: four rows of three cards on a desktop screen.
POSTS_PER_PAGE = 12


def index(request: HttpRequest) -> HttpResponse:
    """Show the gallery of ready posts, newest first."""
    posts = UserPost.objects.ready().select_related("author").prefetch_related("thumbnails")
    page = Paginator(posts, POSTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "posts/index.html", {"page": page})


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """List the signed-in user's posts in every state, with why a failed one failed."""
    posts = UserPost.objects.filter(author_id=request.user.pk).prefetch_related("thumbnails")
    page = Paginator(posts, POSTS_PER_PAGE).get_page(request.GET.get("page"))
    # The page refreshes itself while a post on it is still being worked on.
    done = (UserPost.State.READY, UserPost.State.FAILED)
    pending = any(post.state not in done for post in page)
    return render(request, "posts/mine.html", {"page": page, "pending": pending})


def _upload_limits() -> dict:
    """Return the limits the upload form checks in the browser before sending a file."""
    return {
        "max_bytes": settings.POST_MAX_UPLOAD_BYTES,
        "max_size": uploads.describe_size(settings.POST_MAX_UPLOAD_BYTES),
        "max_pixels": settings.POST_MAX_PIXELS,
    }


@login_required
def create(request: HttpRequest) -> HttpResponse:
    """Upload an image with a caption; its thumbnails are made in the background."""
    posted = request.method == "POST"
    # Reading request.POST parses the body; only then is a cut-off upload known.
    data, files = (request.POST, request.FILES) if posted else (None, None)
    cut_off = uploads.cut_off_at(request)
    form = UserPostForm(data, files, cut_off_at=cut_off)
    status = 200
    if posted and form.is_valid():
        try:
            # Stores the original first: the row is only written once the file is saved.
            post = services.create_post(
                author=request.user,  # type: ignore[arg-type]  # login_required: a User
                caption=form.cleaned_data["caption"],
                image=form.cleaned_data["image"],
            )
            return redirect(post)
        except OSError:
            logger.exception("upload by user %s: the file storage failed", request.user.pk)
            form.add_error(None, STORAGE_DOWN)
            status = 503
    # 413 Content Too Large when the body was cut off at the limit.
    status = 413 if cut_off else status
    return render(
        request, "posts/create.html", {"form": form, "limits": _upload_limits()}, status=status
    )


def _visible_post(request: HttpRequest, post_id: int) -> UserPost:
    post = get_object_or_404(UserPost.objects.select_related("author"), id=post_id)
    if not post.is_visible_to(request.user):
        raise Http404("No such post.")
    return post


def detail(request: HttpRequest, post_id: int) -> HttpResponse:
    """Show one post; its thumbnails appear as they are made."""
    post = _visible_post(request, post_id)
    return render(request, "posts/detail.html", {"post": post, "status": _status(post)})


def _status(post: UserPost) -> dict:
    """Return what the post page shows; the first thumbnail is the largest."""
    return {
        "id": post.id,
        "state": post.state,
        "state_label": post.get_state_display(),
        "failure_reason": post.failure_reason,
        "thumbnails": [
            {
                "box": t.box,
                "box_label": f"{t.box_width} \N{MULTIPLICATION SIGN} {t.box_height}",
                "width": t.width,
                "height": t.height,
                "url": t.file.url,
            }
            for t in post.sized_thumbnails()
        ]
        if post.state == UserPost.State.READY
        else [],
    }


@never_cache
@require_GET
def status(request: HttpRequest, post_id: int) -> JsonResponse:
    """Return a post's state and thumbnails as JSON, for the post page to poll."""
    return JsonResponse(_status(_visible_post(request, post_id)))


def _own_post(request: HttpRequest, post_id: int) -> UserPost | HttpResponse:
    post = get_object_or_404(UserPost, id=post_id)
    if post.author_id != request.user.id:
        return HttpResponseForbidden("Only the author can change a post.")
    return post


@login_required
def delete(request: HttpRequest, post_id: int) -> HttpResponse:
    """Ask the author to confirm, then delete the post, files included."""
    post = _own_post(request, post_id)
    if isinstance(post, HttpResponse):
        return post
    if request.method != "POST":
        return render(request, "posts/delete.html", {"post": post})
    post.delete()  # its files follow, in a worker (posts.receivers.enqueue_file_deletion)
    messages.success(request, "Your post was deleted.")
    return redirect("posts:mine")


@login_required
@require_POST
def retry(request: HttpRequest, post_id: int) -> HttpResponse:
    """Queue the thumbnails of a failed post again, as for a new upload."""
    post = _own_post(request, post_id)
    if isinstance(post, HttpResponse):
        return post
    if services.retry_post(post.id):
        messages.success(request, f"The thumbnails of “{post.caption}” are being made again.")
    else:
        state = post.get_state_display().lower()
        messages.info(request, f"“{post.caption}” is {state}: there is nothing to retry.")
    # Back where the button was: the post's own page or the list of the author's posts.
    return redirect(post if request.POST.get("back") == "post" else "posts:mine")
