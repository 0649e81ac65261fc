"""posts.thumbnails: one decode, every size, upright, metadata-free, safe to run twice."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from posts import thumbnails
from posts.models import Thumbnail, UserPost
from posts.thumbnails import BadImage, Box
from tests.factories import (
    CLASSIC_FITS_4000x3000,
    image_bytes,
    make_user,
    phone_jpeg,
    sideways_phone_jpeg,
    stripes,
)

CLASSIC = [Box(600, 400), Box(100, 100), Box(200, 200), Box(300, 300), Box(10, 10), Box(5, 5)]


def sizes(rendered) -> dict[str, tuple[int, int]]:
    return {item.box.name: (item.width, item.height) for item in rendered}


def test_every_box_gets_a_thumbnail_that_fits_and_keeps_the_aspect_ratio():
    rendered = thumbnails.render(phone_jpeg((4000, 3000)), CLASSIC, max_pixels=50_000_000)

    assert sizes(rendered) == CLASSIC_FITS_4000x3000
    for item in rendered:
        with Image.open(BytesIO(item.data)) as image:
            assert image.format == "JPEG"
            assert image.size == (item.width, item.height)


def test_small_images_are_never_enlarged():
    rendered = thumbnails.render(
        image_bytes(stripes((150, 90)), "PNG"), [Box(600, 400), Box(100, 100)], max_pixels=10**6
    )

    assert sizes(rendered) == {"600x400": (150, 90), "100x100": (100, 60)}


def test_exif_orientation_is_applied_so_a_sideways_phone_photo_comes_out_upright():
    rendered = thumbnails.render(sideways_phone_jpeg(), [Box(600, 400)], max_pixels=10**7)

    (item,) = rendered
    assert (item.width, item.height) == (300, 400)
    with Image.open(BytesIO(item.data)) as image:
        red, _green, blue = image.convert("RGB").getpixel((150, 50))
        assert red > 200 and blue < 60  # top half is red
        red, _green, blue = image.convert("RGB").getpixel((150, 350))
        assert blue > 200 and red < 60  # bottom half is blue


def test_thumbnails_carry_no_exif_gps_or_comment():
    source = phone_jpeg((1600, 1200), orientation=1)
    assert b"SecretPhone" in source

    for item in thumbnails.render(source, CLASSIC, max_pixels=10**7):
        with Image.open(BytesIO(item.data)) as image:
            assert not image.getexif()
            assert not set(image.info) & {"exif", "icc_profile", "xmp", "comment"}
        assert b"Exif" not in item.data
        assert b"SecretPhone" not in item.data


def test_gif_first_frame_and_transparent_png_become_rgb_jpegs():
    frames = [Image.new("P", (64, 64), color) for color in (1, 2)]
    gif = BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    transparent = image_bytes(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "PNG")

    for data in (gif.getvalue(), transparent):
        (item,) = thumbnails.render(data, [Box(32, 32)], max_pixels=10**6)
        with Image.open(BytesIO(item.data)) as image:
            assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (32, 32))
    with Image.open(BytesIO(item.data)) as image:
        assert image.getpixel((16, 16)) == (255, 255, 255)  # transparent became white


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (phone_jpeg((800, 600))[:6000], "damaged or incomplete"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a JPEG, PNG, WebP or GIF"),
        (image_bytes(stripes((64, 64)), "BMP"), "not a JPEG, PNG, WebP or GIF"),
    ],
    ids=["truncated-jpeg", "svg", "bmp"],
)
def test_undecodable_input_raises_a_readable_bad_image(data, reason):
    with pytest.raises(BadImage, match=reason):
        thumbnails.render(data, CLASSIC, max_pixels=10**7)


def test_too_many_pixels_is_refused_before_decoding():
    with pytest.raises(BadImage, match="more than the 1 megapixels"):
        thumbnails.render(image_bytes(stripes((2000, 1000)), "PNG"), CLASSIC, max_pixels=10**6)


def test_jpeg_is_decoded_once_at_the_smallest_scale_that_still_covers_the_largest_box():
    """The decode is the cost: a 4000x3000 JPEG for a 600x400 box decodes at 1/4 scale."""
    base, upright = thumbnails.decode(phone_jpeg((4000, 3000)), Box(600, 400), max_pixels=10**8)

    assert upright == (4000, 3000)
    assert base.size == (1000, 750)


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
    assert UserPost.objects.claim(post.id)
    rendered = thumbnails.render(phone_jpeg(), [Box(100, 100)], max_pixels=10**8)
    UserPost.objects.filter(id=post.id).delete()

    assert thumbnails._record(post.id, rendered) is False
    assert not Thumbnail.objects.exists()


@pytest.mark.django_db
def test_thumbnails_of_a_post_queued_again_meanwhile_are_recorded_and_it_stays_waiting(media):
    post = UserPost.objects.create(
        author=make_user(), caption="again", image=ContentFile(phone_jpeg(), name="a.jpg")
    )
    assert UserPost.objects.claim(post.id)
    rendered = thumbnails.render(phone_jpeg(), [Box(100, 100)], max_pixels=10**8)
    UserPost.objects.filter(id=post.id).mark_waiting()  # re-generate asked meanwhile

    assert thumbnails._record(post.id, rendered) is True
    post.refresh_from_db()
    assert post.state == UserPost.State.WAITING  # the queued run will mark it ready
    assert [t.box for t in post.thumbnails.all()] == ["100x100"]
