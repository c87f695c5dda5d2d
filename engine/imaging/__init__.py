"""Image input: DICOM and raster readers, studies and views, rendering and de-identification."""
