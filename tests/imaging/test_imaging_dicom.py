"""DICOM reading: real chest files, the display pipeline, decoders and rejected inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from imaging_factory import (
    LOWER_MEDIASTINUM,
    LUNG_LEFT,
    LUNG_RIGHT,
    MAX_12_BIT,
    MEDIASTINUM,
    NIH_DX,
    NIH_JPEG,
    RG1_J2K,
    RG1_RLE,
    TIBIA_J2K,
    bytes_without_preamble,
    gzip_file,
    image_dataset,
    load_error,
    phantom,
    region_mean,
    require_shared_data,
    save,
    transcode_with_gdcm,
)
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import (
    JPEG2000,
    MPEG2MPML,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

from engine.imaging import ImageInputError, ImagingLimits, VisionSpec, load_image, sitk_reader
from engine.imaging import dicom as dicom_module

SMALL_SPEC = VisionSpec(max_pixels=448 * 448)


@pytest.fixture(scope="module")
def rg1():
    require_shared_data()
    return load_image(RG1_J2K)


def assert_chest_polarity(display: np.ndarray) -> None:
    lungs = max(region_mean(display, LUNG_LEFT), region_mean(display, LUNG_RIGHT))
    assert lungs + 40 < region_mean(display, MEDIASTINUM)
    assert lungs + 40 < region_mean(display, LOWER_MEDIASTINUM)


def assert_phantom_polarity(display: np.ndarray) -> None:
    lung = display[40:50, 16:24].mean()
    mediastinum = display[40:50, 35:37].mean()
    spine = display[40:50, 39:41].mean()
    assert lung < mediastinum < spine


# Real files


def test_rg1_monochrome1_j2k_renders_lungs_dark(rg1):
    assert rg1.kind == "dicom"
    assert rg1.photometric == "MONOCHROME1"
    assert rg1.transfer_syntax == "JPEG 2000 Image Compression"
    assert rg1.decoder == "pylibjpeg"
    assert rg1.size == (1955, 1841)
    assert rg1.display.shape == (1955, 1841)
    assert rg1.display.dtype == np.uint8
    assert rg1.view == "PA"
    assert rg1.body_part == "CHEST"
    assert rg1.window.method == "window"
    assert (rg1.window.centre, rg1.window.width, rg1.window.function) == (15000.0, 30000.0, "LINEAR")
    assert rg1.warnings == []
    assert_chest_polarity(rg1.display)
    assert round(region_mean(rg1.display, LUNG_RIGHT)) == 149
    assert round(region_mean(rg1.display, MEDIASTINUM)) == 223


def test_rg1_rle_matches_j2k_render(rg1):
    rle = load_image(RG1_RLE)
    assert rle.transfer_syntax == "RLE Lossless"
    assert np.array_equal(rle.display, rg1.display)


def test_nih_uncompressed_and_jpeg_baseline():
    require_shared_data()
    plain = load_image(NIH_DX)
    jpeg = load_image(NIH_JPEG)
    assert plain.transfer_syntax == "Implicit VR Little Endian"
    assert jpeg.transfer_syntax == "JPEG Baseline (Process 1)"
    assert plain.photometric == jpeg.photometric == "MONOCHROME2"
    assert plain.view == "UNKNOWN"
    assert plain.body_part is None
    assert (plain.window.method, plain.window.centre, plain.window.width) == ("data_range", 126.0, 252.0)
    assert_chest_polarity(plain.display)
    assert_chest_polarity(jpeg.display)
    assert np.abs(plain.display.astype(int) - jpeg.display.astype(int)).mean() < 2.0


def test_tibia_warns_not_chest():
    require_shared_data()
    tibia = load_image(TIBIA_J2K)
    assert tibia.transfer_syntax == "JPEG 2000 Image Compression (Lossless Only)"
    assert tibia.body_part == "EXTREMITY"
    assert tibia.view == "AP"
    assert tibia.warnings == [
        "cr_tibia_mono1_j2k_lossless_RG3_J2KR_nonchest.dcm: BodyPartExamined is EXTREMITY, not chest; "
        "this model drafts chest X-ray reports only, so check that the right image was selected"
    ]


def test_rg1_model_input_equals_monochrome2_twin(rg1, tmp_path):
    twin = dcmread(RG1_RLE)
    stored = twin.pixel_array.astype(np.uint16)
    twin.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    twin.PixelData = (32767 - stored).astype(np.uint16).tobytes()
    twin.PhotometricInterpretation = "MONOCHROME2"
    # The LINEAR window places its edges on pixel centres, so the mirrored centre is 32767 + 1 - 15000.
    twin.WindowCenter = 32767 + 1 - 15000
    path = save(twin, tmp_path / "rg1_mono2_twin.dcm")

    mono2 = load_image(path)
    assert mono2.photometric == "MONOCHROME2"
    assert np.array_equal(mono2.display, rg1.display)
    pixels_1, grid_1 = rg1.model_input(SMALL_SPEC)
    pixels_2, grid_2 = mono2.model_input(SMALL_SPEC)
    assert grid_1 == grid_2 == (1, 32, 30)
    assert torch.equal(pixels_1, pixels_2)


# The display pipeline on synthetic files


def test_monochrome1_window_equals_twin(tmp_path):
    values = phantom()
    mono2 = image_dataset(values, WindowCenter=2000, WindowWidth=3000)
    mono1 = image_dataset(
        MAX_12_BIT - values, photometric="MONOCHROME1", WindowCenter=MAX_12_BIT + 1 - 2000, WindowWidth=3000
    )
    image_2 = load_image(save(mono2, tmp_path / "mono2.dcm"))
    image_1 = load_image(save(mono1, tmp_path / "mono1.dcm"))
    assert np.array_equal(image_1.display, image_2.display)
    assert torch.equal(image_1.model_input(SMALL_SPEC)[0], image_2.model_input(SMALL_SPEC)[0])
    assert_phantom_polarity(image_1.display)
    assert image_1.warnings == []


def test_monochrome1_with_inverse_shape_inverts_once(tmp_path):
    values = phantom()
    plain = load_image(
        save(image_dataset(MAX_12_BIT - values, photometric="MONOCHROME1"), tmp_path / "a.dcm")
    )
    inverse = image_dataset(MAX_12_BIT - values, photometric="MONOCHROME1", PresentationLUTShape="INVERSE")
    both = load_image(save(inverse, tmp_path / "b.dcm"))
    assert np.array_equal(both.display, plain.display)
    assert both.warnings == []
    assert_phantom_polarity(both.display)


def test_monochrome1_identity_shape_warns(tmp_path):
    ds = image_dataset(MAX_12_BIT - phantom(), photometric="MONOCHROME1", PresentationLUTShape="IDENTITY")
    image = load_image(save(ds, tmp_path / "conflict.dcm"))
    assert_phantom_polarity(image.display)
    assert image.warnings == [
        "conflict.dcm: the header combines MONOCHROME1 with PresentationLUTShape IDENTITY; "
        "the image was inverted as MONOCHROME1 requires, so check its polarity"
    ]


def test_monochrome2_inverse_shape_is_inverted(tmp_path):
    values = phantom()
    plain = load_image(save(image_dataset(values), tmp_path / "plain.dcm"))
    inverse = load_image(save(image_dataset(values, PresentationLUTShape="INVERSE"), tmp_path / "inv.dcm"))
    assert np.array_equal(inverse.display, 255 - plain.display)
    assert inverse.warnings == [
        "inv.dcm: PresentationLUTShape INVERSE asks for inverted display of a MONOCHROME2 image; "
        "it is shown inverted, so check its polarity"
    ]


def test_voi_lut_sequence_applied_before_inversion(tmp_path):
    values = phantom()
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 8]
    # The LUT maps stored 0..4095 linearly onto 0..255 but only above 500 (a "window").
    # 16-bit words (VR OW), as most files store LUT Data.
    item.LUTData = np.clip((np.arange(4096) - 500) * 255 // 3595, 0, 255).astype("<u2").tobytes()
    ds = image_dataset(MAX_12_BIT - values, photometric="MONOCHROME1", WindowCenter=1, WindowWidth=2)
    ds.VOILUTSequence = [item]
    image = load_image(save(ds, tmp_path / "voilut.dcm"))
    assert image.window.method == "voi_lut"
    stored = MAX_12_BIT - values.astype(np.int64)
    expected = 255 - np.clip((stored - 500) * 255 // 3595, 0, 255)
    assert np.array_equal(image.display, expected.astype(np.uint8))
    assert_phantom_polarity(image.display)


def test_negative_rescale_slope_flips_polarity(tmp_path):
    values = phantom()
    plain = load_image(save(image_dataset(values, WindowCenter=2000, WindowWidth=3000), tmp_path / "p.dcm"))
    flipped = image_dataset(
        MAX_12_BIT - values, RescaleSlope=-1, RescaleIntercept=MAX_12_BIT, WindowCenter=2000, WindowWidth=3000
    )
    image = load_image(save(flipped, tmp_path / "negative_slope.dcm"))
    assert np.array_equal(image.display, plain.display)


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        # stored values 1999, 2000, 2001 with centre 2000, width 2
        ("LINEAR", [0, 255, 255]),
        ("LINEAR_EXACT", [0, 128, 255]),
        ("SIGMOID", [30, 128, 225]),
    ],
)
def test_voi_lut_function_values(tmp_path, function, expected):
    values = np.tile(np.array([1999, 2000, 2001, 0], dtype=np.uint16), (4, 1))
    ds = image_dataset(values, WindowCenter=2000, WindowWidth=2, VOILUTFunction=function)
    image = load_image(save(ds, tmp_path / f"{function}.dcm"))
    assert image.window.function == function
    assert image.display[0, :3].tolist() == expected


def test_first_of_several_windows_used(tmp_path):
    ds = image_dataset(phantom(), WindowCenter=[2000, 500], WindowWidth=[3000, 400])
    image = load_image(save(ds, tmp_path / "two_windows.dcm"))
    assert (image.window.centre, image.window.width) == (2000.0, 3000.0)


def test_zero_window_width_falls_back(tmp_path):
    ds = image_dataset(phantom(), WindowCenter=2000, WindowWidth=0)
    image = load_image(save(ds, tmp_path / "zero_width.dcm"))
    assert image.window.method == "data_range"
    assert (image.window.centre, image.window.width) == (2047.5, 4095.0)
    assert image.warnings == [
        "zero_width.dcm: WindowWidth 0 is not positive; the full range of the pixel values was shown"
    ]


def test_modality_lut_sequence_applied(tmp_path):
    values = np.tile(np.array([0, 1, 2, 3], dtype=np.uint16), (4, 1))
    item = Dataset()
    item.LUTDescriptor = [4, 0, 16]
    item.add_new(0x00283006, "US", [1000, 3000, 2000, 0])  # LUT Data as a list of US values
    item.ModalityLUTType = "US"
    ds = image_dataset(values, ModalityLUTSequence=[item])
    image = load_image(save(ds, tmp_path / "modality_lut.dcm"))
    assert image.display[0].tolist() == [85, 255, 170, 0]


def test_multiframe_uses_first_frame(tmp_path):
    frames = np.stack([phantom(), np.full((96, 80), 100, np.uint16), np.full((96, 80), 4000, np.uint16)])
    image = load_image(save(image_dataset(frames), tmp_path / "multi.dcm"))
    single = load_image(save(image_dataset(frames[0]), tmp_path / "single.dcm"))
    assert np.array_equal(image.display, single.display)
    assert image.warnings == ["multi.dcm: the file contains 3 frames; only the first is shown and used"]


def test_colour_dicom_converted_to_grey(tmp_path):
    rgb = np.zeros((32, 32, 3), dtype=np.uint8)
    rgb[:, :16] = (200, 30, 30)
    rgb[:, 16:] = (30, 200, 30)
    ds = image_dataset(rgb, photometric="RGB", bits_stored=8)
    image = load_image(save(ds, tmp_path / "colour.dcm"))
    assert image.window is None
    assert image.display[0, 0] == round(0.299 * 200 + 0.587 * 30 + 0.114 * 30)
    assert image.display[0, 31] == round(0.299 * 30 + 0.587 * 200 + 0.114 * 30)
    assert image.warnings == [
        "colour.dcm: a colour DICOM image was converted to greyscale",
        "colour.dcm: 100% of the pixels are strongly coloured, so this does not look like a radiograph; "
        "check that the right image was selected",
    ]


# Compressed transfer syntaxes


@pytest.fixture(scope="module")
def native_phantom(tmp_path_factory):
    folder = tmp_path_factory.mktemp("native")
    path = save(image_dataset(phantom(), WindowCenter=2000, WindowWidth=3000), folder / "native.dcm")
    return path, load_image(path)


@pytest.mark.parametrize(
    ("syntax", "name", "decoder"),
    [
        (JPEGLSLossless, "JPEG-LS Lossless Image Compression", "pyjpegls"),
        (JPEG2000Lossless, "JPEG 2000 Image Compression (Lossless Only)", "pylibjpeg"),
        (RLELossless, "RLE Lossless", "pylibjpeg"),
    ],
)
def test_lossless_syntaxes_match_native(native_phantom, tmp_path, syntax, name, decoder):
    path, native = native_phantom
    ds = dcmread(path)
    ds.compress(syntax)
    image = load_image(save(ds, tmp_path / "compressed.dcm"))
    assert image.transfer_syntax == name
    assert image.decoder == decoder
    assert np.array_equal(image.display, native.display)


def test_jpeg_lossless_sv1_decodes(native_phantom, tmp_path):
    path, native = native_phantom
    target = transcode_with_gdcm(path, tmp_path / "sv1.dcm", "JPEGLosslessProcess14_1")
    image = load_image(target)
    assert image.transfer_syntax == (
        "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])"
    )
    assert image.decoder == "gdcm"
    assert np.array_equal(image.display, native.display)


def test_jpeg2000_lossy_close_to_native(native_phantom, tmp_path):
    path, native = native_phantom
    ds = dcmread(path)
    ds.compress(JPEG2000, j2k_psnr=[60])
    image = load_image(save(ds, tmp_path / "lossy.dcm"))
    assert image.transfer_syntax == "JPEG 2000 Image Compression"
    assert np.abs(image.display.astype(int) - native.display.astype(int)).max() <= 2


def test_signed_jpeg_ls_decodes_negative_values(tmp_path):
    signed = (phantom().astype(np.int32) - 2048).astype(np.int16)
    ds = image_dataset(signed, signed=True)
    native = load_image(save(ds, tmp_path / "signed_native.dcm"))
    ds.compress(JPEGLSLossless)
    image = load_image(save(ds, tmp_path / "signed_jls.dcm"))
    assert image.transfer_syntax == "JPEG-LS Lossless Image Compression"
    assert (image.window.centre, image.window.width) == (-0.5, 4095.0)
    assert np.array_equal(image.display, native.display)
    assert_phantom_polarity(image.display)


def test_jpeg_ls_8_of_16_bits_decodes(tmp_path):
    values = (phantom() // 16).astype(np.uint16)
    ds = image_dataset(values, bits_stored=8)
    native = load_image(save(ds, tmp_path / "native8.dcm"))
    ds.compress(JPEGLSLossless)
    image = load_image(save(ds, tmp_path / "jls8.dcm"))
    assert np.array_equal(image.display, native.display)


def test_simpleitk_fallback_matches_pydicom(rg1, monkeypatch):
    monkeypatch.setattr(dicom_module, "_decode_with_pydicom", lambda ds, source: None)
    image = load_image(RG1_J2K)
    assert image.decoder == "simpleitk"
    assert np.array_equal(image.display, rg1.display)


@pytest.mark.parametrize(
    ("photometric", "slope", "intercept"),
    [
        ("MONOCHROME1", 2, -100),
        ("MONOCHROME1", None, None),
        ("MONOCHROME2", -1, 4095),
        ("MONOCHROME2", 10, 0),
    ],
)
def test_simpleitk_fallback_undoes_rescale_and_inversion(
    tmp_path, monkeypatch, photometric, slope, intercept
):
    values = phantom() if photometric == "MONOCHROME2" else MAX_12_BIT - phantom()
    extra = {} if slope is None else {"RescaleSlope": slope, "RescaleIntercept": intercept}
    path = save(image_dataset(values, photometric=photometric, **extra), tmp_path / "sitk.dcm")
    expected = load_image(path)
    monkeypatch.setattr(dicom_module, "_decode_with_pydicom", lambda ds, source: None)
    image = load_image(path)
    assert image.decoder == "simpleitk"
    assert np.array_equal(image.display, expected.display)


# Files found by content


def test_no_preamble_with_file_meta(tmp_path):
    ds = image_dataset(phantom())
    path = tmp_path / "nopreamble.dcm"
    path.write_bytes(bytes_without_preamble(ds, with_file_meta=True))
    image = load_image(path)
    reference = load_image(save(ds, tmp_path / "reference.dcm"))
    assert np.array_equal(image.display, reference.display)
    assert image.transfer_syntax == "Explicit VR Little Endian"
    assert image.warnings == [
        "nopreamble.dcm: the file has no DICOM preamble or DICM marker; it was recognised by its content"
    ]


def test_raw_dataset_without_meta_gets_transfer_syntax(tmp_path):
    ds = image_dataset(phantom())
    path = tmp_path / "I0000001"
    path.write_bytes(bytes_without_preamble(ds, with_file_meta=False))
    image = load_image(path)
    assert image.transfer_syntax == "Implicit VR Little Endian"
    assert image.warnings == [
        "I0000001: the file has no DICOM preamble or DICM marker; it was recognised by its content",
        "I0000001: the file meta information has no transfer syntax; it was read as Implicit VR Little Endian",
    ]
    assert_phantom_polarity(image.display)


def test_no_extension_sniffed_as_dicom(tmp_path):
    path = save(image_dataset(phantom()), tmp_path / "IM000012")
    image = load_image(path)
    assert image.kind == "dicom"
    assert image.source == "IM000012"
    assert image.warnings == []


def test_gzip_dicom_decompressed(tmp_path):
    plain = save(image_dataset(phantom()), tmp_path / "study.dcm")
    image = load_image(gzip_file(plain, tmp_path / "study.dcm.gz"))
    assert np.array_equal(image.display, load_image(plain).display)
    assert image.warnings == ["study.dcm.gz: the file was gzip-compressed and was decompressed in memory"]


# Rejected inputs: each has its exact code and message


def test_text_file_named_dcm_rejected(tmp_path):
    path = tmp_path / "notes.dcm"
    path.write_text("Patient notes: chest pain since Monday.\n")
    error = load_error(path)
    assert error.code == "unsupported_format"
    assert str(error) == (
        "notes.dcm: not a DICOM, PNG or JPEG image (the content looks like a text file). "
        "Export the radiograph as DICOM, PNG or JPEG"
    )


def test_empty_file_rejected(tmp_path):
    path = tmp_path / "empty.dcm"
    path.write_bytes(b"")
    error = load_error(path)
    assert error.code == "empty_file"
    assert str(error) == "empty.dcm: the file is empty (0 bytes). Copy or export it again"


def test_missing_file_rejected(tmp_path):
    error = load_error(tmp_path / "absent.dcm")
    assert error.code == "not_found"
    assert str(error) == "absent.dcm: the file does not exist. Check the path"


def test_truncated_j2k_codestream_rejected(tmp_path):
    require_shared_data()
    ds = dcmread(TIBIA_J2K)
    codestream = next(generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = encapsulate([codestream[:-300]])
    error = load_error(save(ds, tmp_path / "short_j2k.dcm"))
    assert error.code == "decode_failed"
    assert str(error) == (
        "short_j2k.dcm: the JPEG 2000 Image Compression (Lossless Only) pixel data could not be decoded; "
        "the file is probably truncated or damaged. Export the image again from PACS"
    )


def test_truncated_j2k_cli_prints_one_line(tmp_path):
    require_shared_data()
    ds = dcmread(TIBIA_J2K)
    codestream = next(generate_frames(ds.PixelData, number_of_frames=1))
    ds.PixelData = encapsulate([codestream[:-300]])
    path = save(ds, tmp_path / "short_j2k.dcm")

    # A separate process, because pytest's own log capture would hide what the CLI logs to stderr.
    result = subprocess.run([sys.executable, "-m", "app.cli", "inspect", str(path)], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2], timeout=120)

    assert result.returncode == 2
    # pydicom's decoder tracebacks stay out of the output. NOTE: OpenJPEG itself writes
    # "Tile part length size inconsistent with stream length" to the C stderr, which Python cannot filter.
    assert "Traceback" not in result.stderr
    assert "ERROR" not in result.stderr
    assert result.stderr.strip().splitlines()[-1:] == [
        "echo-cxr inspect: error: short_j2k.dcm: the JPEG 2000 Image Compression (Lossless Only) pixel data could "
        "not be decoded; the file is probably truncated or damaged. Export the image again from PACS"
    ]


def test_truncated_file_rejected(tmp_path):
    require_shared_data()
    path = tmp_path / "cut.dcm"
    path.write_bytes(TIBIA_J2K.read_bytes()[:-300])
    error = load_error(path)
    assert error.code == "truncated_file"
    assert str(error) == (
        "cut.dcm: the file ends before its pixel data is complete. "
        "The copy is truncated; copy or export it again from PACS"
    )


def test_truncated_native_pixel_data_rejected(tmp_path):
    ds = image_dataset(phantom())
    ds.PixelData = ds.PixelData[:1000]
    error = load_error(save(ds, tmp_path / "short_native.dcm"))
    assert error.code == "truncated_file"
    assert str(error) == (
        "short_native.dcm: the pixel data has only 1,000 of the 15,360 bytes the header declares. "
        "The copy is truncated; copy or export it again from PACS"
    )


def test_damaged_header_rejected(tmp_path):
    require_shared_data()
    path = tmp_path / "header_only.dcm"
    path.write_bytes(TIBIA_J2K.read_bytes()[:1000])
    error = load_error(path)
    assert error.code == "corrupt_file"
    assert str(error) == (
        "header_only.dcm: the DICOM header is damaged or incomplete and cannot be read. "
        "Copy or export the file again from PACS"
    )


def test_unsupported_compression_named(tmp_path):
    ds = image_dataset(phantom())
    ds.file_meta.TransferSyntaxUID = MPEG2MPML
    ds.PixelData = encapsulate([b"\x00\x00\x01\xb3" + bytes(100)])
    error = load_error(save(ds, tmp_path / "video.dcm"))
    assert error.code == "unsupported_compression"
    assert str(error) == (
        "video.dcm: unsupported compression: MPEG2 Main Profile / Main Level (1.2.840.10008.1.2.4.100); "
        "no installed decoder reads it. Export the image uncompressed or as JPEG 2000, JPEG-LS or JPEG Lossless"
    )


def test_missing_plugin_names_compression(native_phantom, tmp_path, monkeypatch):
    path, _ = native_phantom
    ds = dcmread(path)
    ds.compress(JPEGLSLossless)
    target = save(ds, tmp_path / "jpegls.dcm")
    monkeypatch.setattr(dicom_module, "_ordered_plugins", lambda available: [])
    monkeypatch.setattr(sitk_reader, "is_available", lambda: False)
    error = load_error(target)
    assert error.code == "unsupported_compression"
    assert str(error) == (
        "jpegls.dcm: unsupported compression: JPEG-LS Lossless Image Compression (1.2.840.10008.1.2.4.80); "
        "no installed decoder reads it. Export the image uncompressed or as JPEG 2000, JPEG-LS or JPEG Lossless"
    )


def test_values_beyond_bits_stored_rejected(tmp_path):
    values = np.linspace(0, 60000, 96 * 80).reshape(96, 80).astype(np.uint16)
    ds = image_dataset(values, bits_stored=16)
    ds.compress(JPEG2000Lossless)
    ds.BitsStored, ds.HighBit = 12, 11
    error = load_error(save(ds, tmp_path / "range.dcm"))
    assert error.code == "out_of_range"
    assert str(error) == (
        "range.dcm: decoded pixel values span 0..60000, outside the range 0..4095 that BitsStored 12 allows. "
        "The header does not match the compressed data; export the image again from PACS"
    )


def test_constant_pixels_rejected(tmp_path):
    ds = image_dataset(np.zeros((64, 64), dtype=np.uint16))
    error = load_error(save(ds, tmp_path / "blank.dcm"))
    assert error.code == "constant_pixels"
    assert str(error) == (
        "blank.dcm: every pixel of the decoded image has the same value (0), so it contains no image. "
        "Export the image again; if it still fails, the original file is damaged"
    )


def test_huge_declared_size_rejected_before_decoding(tmp_path):
    ds = image_dataset(phantom())
    ds.Rows, ds.Columns = 60000, 50000
    error = load_error(save(ds, tmp_path / "huge.dcm"))
    assert error.code == "too_large"
    assert str(error) == (
        "huge.dcm: the image is 50000 x 60000 pixels, over the limit of 50,000,000 pixels and 20,000 pixels "
        "a side. Downscale or crop the image, or raise ImagingLimits if the size is expected"
    )


def test_configured_pixel_limit(tmp_path):
    path = save(image_dataset(phantom()), tmp_path / "small.dcm")
    error = load_error(path, limits=ImagingLimits(max_pixels=5000))
    assert error.code == "too_large"
    assert str(error).startswith("small.dcm: the image is 80 x 96 pixels, over the limit of 5,000 pixels")


def test_no_pixel_data_rejected(tmp_path):
    ds = image_dataset(phantom())
    del ds.PixelData
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.22"
    error = load_error(save(ds, tmp_path / "report.dcm"))
    assert error.code == "no_pixel_data"
    assert str(error) == (
        "report.dcm: the DICOM file contains no pixel data, so it is not a radiograph image (SOP class "
        "Enhanced SR Storage). Select the image files of the study, not reports or presentation states"
    )


def test_messages_never_contain_patient_name(tmp_path):
    ds = image_dataset(np.zeros((8, 8), dtype=np.uint16))
    ds.PatientName = "Zebulon^Quixote"
    with pytest.raises(ImageInputError) as caught:
        load_image(save(ds, tmp_path / "x.dcm"))
    assert "Zebulon" not in str(caught.value)
    assert str(tmp_path) not in str(caught.value)


def test_palette_colour_dicom_rendered(tmp_path):
    indices = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (16, 1))
    ds = image_dataset(indices, photometric="PALETTE COLOR", bits_stored=8)
    grey_ramp = (np.arange(256, dtype=np.uint16) * 257).astype("<u2").tobytes()
    for colour in ("Red", "Green", "Blue"):
        setattr(ds, f"{colour}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{colour}PaletteColorLookupTableData", grey_ramp)
    image = load_image(save(ds, tmp_path / "palette.dcm"))
    assert image.display[0, :4].tolist() == [0, 4, 8, 12]
    assert image.warnings == ["palette.dcm: a colour DICOM image was converted to greyscale"]


def test_invalid_window_value_rejected(tmp_path):
    path = save(image_dataset(phantom(), WindowCenter=7777, WindowWidth=400), tmp_path / "bad_window.dcm")
    path.write_bytes(path.read_bytes().replace(b"7777", b"abcd"))
    error = load_error(path)
    assert error.code == "corrupt_file"
    assert str(error) == (
        "bad_window.dcm: the DICOM header contains an invalid value (ValueError). Export the image again from PACS"
    )
