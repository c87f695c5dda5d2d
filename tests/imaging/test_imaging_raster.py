"""PNG and JPEG reading: bit depths, alpha, EXIF orientation and rejected files."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from imaging_factory import (
    LUNG_LEFT,
    LUNG_RIGHT,
    MEDIASTINUM,
    SHARED_DATA,
    load_error,
    phantom,
    png_bytes,
    region_mean,
    require_shared_data,
)
from PIL import Image

from engine.imaging import VisionSpec, load_image

NIH_PNG = SHARED_DATA / "nih_cxr14_256" / "images" / "00000061_012.png"
COVID_PNG = SHARED_DATA / "covid_cxr" / "images" / "000001-12.png"
IU_RGB_PNG = SHARED_DATA / "iu_xray" / "images" / "CXR2_IM-0652-1001.png"


def png_with_declared_size(width: int, height: int) -> bytes:
    """Return a 1x1 PNG whose IHDR chunk declares another size (with a valid CRC)."""
    data = bytearray(png_bytes(Image.new("L", (1, 1), 128)))
    ihdr = bytearray(data[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)))
    return bytes(data)


def test_eight_bit_png_kept_as_stored():
    require_shared_data()
    image = load_image(NIH_PNG)
    assert image.kind == "png"
    assert image.photometric == "L"
    assert image.window is None
    assert image.size == (256, 256)
    assert image.view == "UNKNOWN"
    assert image.transfer_syntax is None
    assert image.warnings == []
    assert np.array_equal(image.display, np.asarray(Image.open(NIH_PNG)))
    assert region_mean(image.display, LUNG_RIGHT) + 40 < region_mean(image.display, MEDIASTINUM)


def test_rgb_png_with_equal_channels_not_flagged():
    require_shared_data()
    image = load_image(IU_RGB_PNG)
    assert image.photometric == "RGB"
    assert image.warnings == []
    assert image.display.shape == (512, 512)
    assert np.array_equal(image.display, np.asarray(Image.open(IU_RGB_PNG))[..., 0])


def test_covid_png_polarity():
    require_shared_data()
    image = load_image(COVID_PNG)
    assert image.size == (256, 265)
    assert region_mean(image.display, LUNG_LEFT) + 40 < region_mean(image.display, MEDIASTINUM)


def test_sixteen_bit_png_rescaled_not_white(tmp_path):
    values = phantom()
    path = tmp_path / "sixteen.png"
    path.write_bytes(png_bytes(Image.fromarray(values)))
    image = load_image(path)
    assert image.photometric in ("I;16", "I")
    low, high = np.percentile(values.astype(np.float64), (0.5, 99.5))
    assert image.window.method == "percentile"
    assert image.window.percentiles == (0.5, 99.5)
    assert (image.window.centre, image.window.width) == ((low + high) / 2, high - low)
    assert 80 < image.display.mean() < 180
    assert np.asarray(Image.open(path).convert("L")).mean() > 240  # what clamping would show
    lung, mediastinum, spine = image.display[45, 20], image.display[45, 36], image.display[45, 40]
    assert lung < mediastinum < spine


def test_rgba_composited_over_black(tmp_path):
    rgba = np.zeros((32, 32, 4), dtype=np.uint8)
    rgba[:, :16] = (255, 255, 255, 0)
    rgba[:, 16:] = (200, 200, 200, 255)
    rgba[:8, 16:, 3] = 128
    path = tmp_path / "screenshot.png"
    path.write_bytes(png_bytes(Image.fromarray(rgba, "RGBA")))
    image = load_image(path)
    assert image.photometric == "RGBA"
    assert image.display[20, 0] == 0
    assert image.display[20, 20] == 200
    assert image.display[0, 20] == 100
    assert image.warnings == []


def test_palette_png_converted(tmp_path):
    grey = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (16, 1))
    path = tmp_path / "palette.png"
    path.write_bytes(png_bytes(Image.fromarray(grey).convert("P")))
    image = load_image(path)
    assert image.photometric == "P"
    assert image.display[0, :4].tolist() == [0, 4, 8, 12]


def test_exif_orientation_applied_first(tmp_path):
    stored = np.full((20, 40), 50, dtype=np.uint8)
    stored[:6, :10] = 250  # marker in the top-left corner of the stored image
    picture = Image.fromarray(stored)
    exif = picture.getexif()
    exif[0x0112] = 6  # display needs a 90 degree clockwise rotation
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=95, exif=exif)
    path = tmp_path / "photo_of_film.jpg"
    path.write_bytes(buffer.getvalue())
    image = load_image(path)
    assert image.kind == "jpeg"
    assert image.size == (20, 40)
    assert image.display.shape == (40, 20)
    assert image.display[:8, 16:].mean() > 200  # the marker is now top right
    assert image.display[30:, :8].mean() < 70


def test_strong_colour_warned(tmp_path):
    rgb = np.zeros((32, 32, 3), dtype=np.uint8)
    rgb[:, :16] = (220, 20, 20)
    rgb[:, 16:] = (20, 220, 20)
    path = tmp_path / "photo.jpg"
    Image.fromarray(rgb).save(path, format="JPEG", quality=95)
    image = load_image(path)
    assert image.warnings == [
        "photo.jpg: 100% of the pixels are strongly coloured, so this does not look like a radiograph; "
        "check that the right image was selected"
    ]


def test_model_input_from_png(tmp_path):
    path = tmp_path / "small.png"
    path.write_bytes(png_bytes(Image.fromarray((phantom() // 16).astype(np.uint8))))
    pixel_values, grid = load_image(path).model_input(VisionSpec())
    # 96 x 80 rounds to 84 x 84, a 6 x 6 grid of 14-pixel patches of 3 * 2 * 14 * 14 values.
    assert grid == (1, 6, 6)
    assert tuple(pixel_values.shape) == (36, 1176)


def test_decompression_bomb_rejected(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_with_declared_size(20000, 20000))
    error = load_error(path)
    assert error.code == "decompression_bomb"
    assert str(error) == (
        "bomb.png: the image declares so many pixels that Pillow treats it as a decompression bomb. "
        "Do not open this file; if it is a genuine image, downscale it first"
    )


def test_oversized_png_rejected_before_decoding(tmp_path):
    path = tmp_path / "large.png"
    path.write_bytes(png_with_declared_size(10000, 6000))
    error = load_error(path)
    assert error.code == "too_large"
    assert str(error) == (
        "large.png: the image is 10000 x 6000 pixels, over the limit of 50,000,000 pixels and 20,000 pixels "
        "a side. Downscale or crop the image, or raise ImagingLimits if the size is expected"
    )


def test_truncated_png_rejected(tmp_path):
    noise = np.random.default_rng(0).integers(0, 255, (200, 200)).astype(np.uint8)
    data = png_bytes(Image.fromarray(noise))
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    error = load_error(path)
    assert error.code == "truncated_file"
    assert str(error) == "cut.png: the image data ends early. Copy or export the image again"


def test_damaged_png_header_rejected(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    error = load_error(path)
    assert error.code == "corrupt_file"
    assert str(error) == "broken.png: the image header is damaged and cannot be read. Export the image again"


def test_blank_png_rejected(tmp_path):
    path = tmp_path / "black.png"
    path.write_bytes(png_bytes(Image.new("L", (64, 64), 0)))
    error = load_error(path)
    assert error.code == "constant_pixels"
    assert str(error) == (
        "black.png: every pixel of the image has the same value (0), so it contains no image. "
        "Export the image again; if it still fails, the original file is damaged"
    )


def test_pdf_rejected_by_content(tmp_path):
    path = tmp_path / "scan.png"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")
    error = load_error(path)
    assert error.code == "unsupported_format"
    assert str(error) == (
        "scan.png: not a DICOM, PNG or JPEG image (the content looks like a PDF document). "
        "Export the radiograph as DICOM, PNG or JPEG"
    )


def test_gzip_of_text_rejected(tmp_path):
    import gzip

    path = tmp_path / "notes.dcm.gz"
    path.write_bytes(gzip.compress(b"not an image at all\n" * 10))
    error = load_error(path)
    assert error.code == "unsupported_format"
    assert str(error) == (
        "notes.dcm.gz: not a DICOM, PNG or JPEG image (the content looks like a gzip-compressed file "
        "holding a text file). Export the radiograph as DICOM, PNG or JPEG"
    )


def test_damaged_gzip_rejected(tmp_path):
    path = tmp_path / "study.dcm.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(40))
    error = load_error(path)
    assert error.code == "corrupt_file"
    assert str(error) == (
        "study.dcm.gz: the gzip data is damaged or incomplete and cannot be decompressed. "
        "Copy the file again, or decompress it yourself"
    )


def test_noise_image_warns_not_radiograph(tmp_path):
    import numpy as np
    from PIL import Image

    from engine.imaging import load_image

    path = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (128, 128), dtype=np.uint8)).save(path)
    image = load_image(path)
    assert any("neighbouring pixels are almost uncorrelated" in warning for warning in image.warnings)


def test_real_radiograph_has_no_noise_warning():
    from engine.imaging import load_image

    sample = Path(__file__).resolve().parents[2] / "assets" / "samples" / "nih_00001280_004_no_finding.png"
    image = load_image(sample)
    assert not any("uncorrelated" in warning for warning in image.warnings)
