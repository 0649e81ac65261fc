"""posts.thumbnails: stored and recorded once per size, safe to run twice."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from posts import imaging, thumbnails
from posts.imaging import Box
from posts.models import Thumbnail, UserPost
from tests.factories import (
    make_user,
    phone_jpeg,
)


@pytest.mark.django_db
def test_generate_for_twice_leaves_one_row_and_one_file_per_size(media, settings):
    settings.THUMBNAIL_SIZES = [(600, 400), (100, 100)]
    post = UserPost.objects.create(
        author=make_user(), caption="twice", image=ContentFile(phone_jpeg(), name="a.jpg")
    )

    assert thumbnails.generate_for(post_id=post.id) == UserPost.State.READY
    UserPost.objects.filter(id=post.id).mark_waiting()
    assert thumbnails.generate_for(post_id=post.id) == UserPost.State.READY
    assert thumbnails.generate_for(post_id=post.id) is None  # ready: nothing to do

    assert Thumbnail.objects.filter(post=post).count() == 2
    folder = media / "media" / "posts" / "thumbnails" / str(post.id)
    assert sorted(p.name for p in folder.iterdir()) == ["100x100.jpg", "600x400.jpg"]


@pytest.mark.django_db
def test_sizes_removed_from_the_setting_are_forgotten_on_regeneration(media, settings):
    settings.THUMBNAIL_SIZES = [(600, 400), (100, 100)]
    post = UserPost.objects.create(
        author=make_user(), caption="resized", image=ContentFile(phone_jpeg(), name="a.jpg")
    )
    thumbnails.generate_for(post_id=post.id)

    settings.THUMBNAIL_SIZES = [(600, 400)]
    UserPost.objects.filter(id=post.id).mark_waiting()
    thumbnails.generate_for(post_id=post.id)

    assert [t.box for t in post.thumbnails.all()] == ["600x400"]


@pytest.mark.django_db
def test_thumbnails_of_a_post_deleted_while_they_were_made_are_not_recorded(media):
    post = UserPost.objects.create(
        author=make_user(), caption="gone", image=ContentFile(phone_jpeg(), name="a.jpg")
    )
    assert UserPost.objects.start_processing(post.id)
    rendered = imaging.render(phone_jpeg(), [Box(100, 100)], max_pixels=10**8)
    UserPost.objects.filter(id=post.id).delete()

    assert thumbnails._record(post.id, rendered) is False
    assert not Thumbnail.objects.exists()


@pytest.mark.django_db
def test_thumbnails_of_a_post_queued_again_meanwhile_are_recorded_and_it_stays_waiting(media):
    post = UserPost.objects.create(
        author=make_user(), caption="again", image=ContentFile(phone_jpeg(), name="a.jpg")
    )
    assert UserPost.objects.start_processing(post.id)
    rendered = imaging.render(phone_jpeg(), [Box(100, 100)], max_pixels=10**8)
    UserPost.objects.filter(id=post.id).mark_waiting()  # re-generate asked meanwhile

    assert thumbnails._record(post.id, rendered) is True
    post.refresh_from_db()
    assert post.state == UserPost.State.WAITING  # the queued run will mark it ready
    assert [t.box for t in post.thumbnails.all()] == ["100x100"]
