from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from posts import uploads
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
def create(request: HttpRequest) -> HttpResponse:
    """Upload an image with a caption; its thumbnails are made in the background."""
    posted = request.method == "POST"
    # Reading request.POST parses the body; only then is a cut-off upload known.
    data, files = (request.POST, request.FILES) if posted else (None, None)
    cut_off = uploads.cut_off_at(request)
    form = UserPostForm(data, files, cut_off_at=cut_off)
    status = 200
    if posted and form.is_valid():
        post = form.save(commit=False)
        post.author = request.user
        try:
            # Stores the original first: the row is only written once the file is saved.
            # A savepoint of its own, so a failure leaves any caller's transaction usable.
            with transaction.atomic():
                post.save()
            return redirect(post)
        except OSError:
            logger.exception("upload by user %s: the file storage failed", request.user.pk)
            form.add_error(None, STORAGE_DOWN)
            status = 503
    # 413 Content Too Large when the body was cut off at the limit.
    status = 413 if cut_off else status
    return render(request, "posts/create.html", {"form": form}, status=status)


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
    return {
        "id": post.id,
        "state": post.state,
        "state_label": post.get_state_display(),
        "failure_reason": post.failure_reason,
        "thumbnails": [
            {"box": t.box, "width": t.width, "height": t.height, "url": t.file.url}
            for t in post.thumbnails.all()
        ]
        if post.state == UserPost.State.READY
        else [],
    }


@never_cache
@require_GET
def status(request: HttpRequest, post_id: int) -> JsonResponse:
    """Return a post's state and thumbnails as JSON, for the post page to poll."""
    return JsonResponse(_status(_visible_post(request, post_id)))


@login_required
@require_POST
def delete(request: HttpRequest, post_id: int) -> HttpResponse:
    """Delete one of the signed-in user's posts, files included."""
    post = get_object_or_404(UserPost, id=post_id)
    if post.author_id != request.user.id:
        return HttpResponseForbidden("Only the author can delete a post.")
    post.delete()  # its files follow, in a worker (posts.receivers.enqueue_file_deletion)
    messages.success(request, "Your post was deleted.")
    return redirect("posts:index")
