"""Build test data: users, image files the way cameras and attackers make them, voters."""

from __future__ import annotations

import itertools
from importlib import import_module
from io import BytesIO

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from PIL import ExifTags, Image

from voterroll.models import Center, Voter

PASSWORD = "a-long-test-password-42"


def make_user(username: str = "author", **fields):
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **fields)


# The groups and permissions the data migration gives them.
STAFF_GROUPS: dict[str, list[str]] = import_module("accounts.migrations.0002_staff_groups").GROUPS


def staff_group(name: str) -> Group:
    """Return a staff group made by the migration.

    A transactional test empties every table when it ends, so a later test finds the
    group gone: it is then made again from the migration's own list.
    """
    group, made = Group.objects.get_or_create(name=name)
    if made:
        for perm in STAFF_GROUPS[name]:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    return group


def make_staff(username: str, *groups: str, password: str = PASSWORD, **fields):
    """A staff user in the named groups ("Roll officers", "Communications", "Operators")."""
    user = get_user_model().objects.create_user(
        username=username, password=password, is_staff=True, **fields
    )
    user.groups.set([staff_group(name) for name in groups])
    return user


def stripes(size: tuple[int, int]) -> Image.Image:
    """An RGB image red at the top, blue at the bottom, so orientation is checkable."""
    width, height = size
    image = Image.new("RGB", size, "blue")
    image.paste((255, 0, 0), (0, 0, width, height // 2))
    return image


def image_bytes(image: Image.Image, fmt: str, **options) -> bytes:
    out = BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


# The box each thumbnail size of a 4000 x 3000 photo fits in (the default THUMBNAIL_SIZES).
CLASSIC_FITS_4000x3000 = {
    "600x400": (533, 400),
    "300x300": (300, 225),
    "200x200": (200, 150),
    "100x100": (100, 75),
    "10x10": (10, 8),
    "5x5": (5, 4),
}


def phone_jpeg(size: tuple[int, int] = (1200, 900), *, orientation: int = 1) -> bytes:
    """A JPEG with camera EXIF: orientation, camera model and a GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Model] = "SecretPhone 12"
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (48.0, 51.0, 29.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.0),
    }
    return image_bytes(stripes(size), "JPEG", exif=exif.tobytes(), quality=90)


def sideways_phone_jpeg() -> bytes:
    """A portrait photo stored on its side, as phones do: EXIF orientation 6."""
    # Stored 1200x900 with the red half on the left; rotated 90 degrees clockwise
    # for display it is 900x1200 with the red half on top.
    stored = stripes((900, 1200)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    return image_bytes(stored, "JPEG", exif=exif.tobytes(), quality=90)


def png_bomb(size: tuple[int, int] = (8000, 8000)) -> bytes:
    """A PNG a few kilobytes long that would decode to ``size`` pixels."""
    return image_bytes(Image.new("1", size), "PNG")


def corrupt_png(size: tuple[int, int] = (400, 300)) -> bytes:
    """A PNG whose header is fine but whose compressed pixel data is garbage mid-way."""
    data = bytearray(image_bytes(Image.effect_noise(size, 64).convert("RGB"), "PNG"))
    middle = len(data) // 2
    data[middle : middle + 200] = b"\xff" * 200
    return bytes(data)


_numbers = itertools.count(500_000_001)


def make_center(
    code: str = "C0001",
    *,
    name: str = "Central School",
    office: str = "Office 01",
    locale: str = "en",
) -> Center:
    return Center.objects.create(code=code, name=name, office=office, locale=locale)


def make_voters(
    center: Center,
    names: list[tuple[str, str]],
    *,
    father: str = "Omar",
    grandfather: str = "Ali",
    birth_year: int = 1980,
) -> list[Voter]:
    """Create one voter per (first name, family name) pair; genders alternate M, F."""
    return Voter.objects.bulk_create(
        Voter(
            number=str(next(_numbers)),
            first_name=first,
            father_name=father,
            grandfather_name=grandfather,
            family_name=family,
            gender="MF"[index % 2],
            birth_year=birth_year,
            center=center,
        )
        for index, (first, family) in enumerate(names)
    )
