"""posts.imaging: one decode, every size, upright, metadata-free."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import Image

from posts import imaging
from posts.imaging import BadImage, Box
from tests.factories import (
    CLASSIC_FITS_4000x3000,
    image_bytes,
    phone_jpeg,
    sideways_phone_jpeg,
    stripes,
)

CLASSIC = [Box(600, 400), Box(100, 100), Box(200, 200), Box(300, 300), Box(10, 10), Box(5, 5)]


def sizes(rendered) -> dict[str, tuple[int, int]]:
    return {item.box.name: (item.width, item.height) for item in rendered}


def test_every_box_gets_a_thumbnail_that_fits_and_keeps_the_aspect_ratio():
    rendered = imaging.render(phone_jpeg((4000, 3000)), CLASSIC, max_pixels=50_000_000)

    assert sizes(rendered) == CLASSIC_FITS_4000x3000
    for item in rendered:
        with Image.open(BytesIO(item.data)) as image:
            assert image.format == "JPEG"
            assert image.size == (item.width, item.height)


def test_small_images_are_never_enlarged():
    rendered = imaging.render(
        image_bytes(stripes((150, 90)), "PNG"), [Box(600, 400), Box(100, 100)], max_pixels=10**6
    )

    assert sizes(rendered) == {"600x400": (150, 90), "100x100": (100, 60)}


def test_exif_orientation_is_applied_so_a_sideways_phone_photo_comes_out_upright():
    rendered = imaging.render(sideways_phone_jpeg(), [Box(600, 400)], max_pixels=10**7)

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

    for item in imaging.render(source, CLASSIC, max_pixels=10**7):
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
        (item,) = imaging.render(data, [Box(32, 32)], max_pixels=10**6)
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
        imaging.render(data, CLASSIC, max_pixels=10**7)


def test_too_many_pixels_is_refused_before_decoding():
    with pytest.raises(BadImage, match="more than the 1 megapixels"):
        imaging.render(image_bytes(stripes((2000, 1000)), "PNG"), CLASSIC, max_pixels=10**6)


def test_jpeg_is_decoded_once_at_the_smallest_scale_that_still_covers_the_largest_box():
    """The decode is the cost: a 4000x3000 JPEG for a 600x400 box decodes at 1/4 scale."""
    base, upright = imaging.decode(phone_jpeg((4000, 3000)), Box(600, 400), max_pixels=10**8)

    assert upright == (4000, 3000)
    assert base.size == (1000, 750)
