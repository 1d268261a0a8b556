"""Write DICOM and NIfTI test files from real chest X-rays and a colonoscopy frame (../shared), at test time.

usage: make_medical.py OUT_DIR CXR_DIR RGB_IMAGE
Writes, with the source arrays beside them as .npy (what each file must decode to):
  cxr8.dcm        8-bit MONOCHROME2, Window 127.5/255 (decodes to exactly the PNG's values / 255)
  cxr12.dcm       12-bit MONOCHROME2, Rescale Slope 2 / Intercept -100, Window 3000/4000
  cxr12-mono1.dcm the same pixels as MONOCHROME1
  cxr12-nowin.dcm the same without Window Center/Width (percentile window)
  rgb.dcm         8-bit RGB
  nopixels.dcm    a DICOM image header without Pixel Data
  badsyntax.dcm   pixel data under MPEG-2 (a transfer syntax no X-ray archive uses, which GDCM does not decode)
  cxr2d.nii.gz    a 2-D NIfTI image; stack.nii.gz: 3 chest X-rays stacked along z
  mask8.dcm, mask2d.nii.gz, maskstack.nii.gz: the lung masks (0/255, ../masks beside CXR_DIR) of those X-rays
                  as a DICOM, a 2-D NIfTI and a NIfTI stack (masks in the medical formats)
Compressed copies (JPEG-LS, JPEG Lossless, RLE, JPEG 2000) are made by the caller with dcmtk / gdcmconv.
"""
import os
import sys

import numpy as np
import nibabel as nib
import pydicom
from PIL import Image
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

out, cxr_dir, rgb_path = sys.argv[1:4]
names = sorted(f for f in os.listdir(cxr_dir) if f.endswith('.png'))[:3]
cxr = [np.array(Image.open(os.path.join(cxr_dir, n)).convert('L')) for n in names]


def dicom(path, pixels, bits, photometric='MONOCHROME2', window=None, rescale=None, syntax=ExplicitVRLittleEndian, with_pixels=True):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = FileDataset(path, {}, file_meta=meta, preamble=b'\0' * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = 'OT'
    ds.Rows, ds.Columns = pixels.shape[:2]
    ds.SamplesPerPixel = 3 if pixels.ndim == 3 else 1
    if pixels.ndim == 3:
        ds.PlanarConfiguration = 0
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 8 if bits == 8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, 0
    if rescale:
        ds.RescaleSlope, ds.RescaleIntercept = rescale
    if window:
        ds.WindowCenter, ds.WindowWidth = window
    if with_pixels:
        raw = pixels.astype(np.uint8 if bits == 8 else np.uint16).tobytes()
        compressed = syntax != ExplicitVRLittleEndian
        ds.PixelData = encapsulate([raw]) if compressed else raw  # compressed syntaxes: encapsulated frames
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(os.path.join(out, path), write_like_original=False)


c8 = cxr[0]
dicom('cxr8.dcm', c8, 8, window=('127.5', '255'))
np.save(os.path.join(out, 'cxr8.npy'), c8)
c12 = c8.astype(np.uint16) * 16 + 7  # 12-bit values 7..4087
dicom('cxr12.dcm', c12, 12, rescale=('2', '-100'), window=('3000', '4000'))
dicom('cxr12-mono1.dcm', c12, 12, photometric='MONOCHROME1', rescale=('2', '-100'), window=('3000', '4000'))
dicom('cxr12-nowin.dcm', c12, 12, rescale=('2', '-100'))
np.save(os.path.join(out, 'cxr12.npy'), c12.astype(np.float32) * 2 - 100)
rgb = np.array(Image.open(rgb_path).convert('RGB'))
dicom('rgb.dcm', rgb, 8, photometric='RGB', window=('127.5', '255'))
np.save(os.path.join(out, 'rgb.npy'), rgb)
dicom('nopixels.dcm', c8, 8, with_pixels=False)
dicom('badsyntax.dcm', c8, 8, syntax='1.2.840.10008.1.2.4.100')

# NIfTI stores x fastest: the array's first axis is x (columns), the second y (rows)
nib.save(nib.Nifti1Image(c8.T.astype(np.int16), np.eye(4)), os.path.join(out, 'cxr2d.nii.gz'))
stack = np.stack([c.T for c in cxr], axis=2).astype(np.int16)
nib.save(nib.Nifti1Image(stack, np.eye(4)), os.path.join(out, 'stack.nii.gz'))
np.save(os.path.join(out, 'stack.npy'), np.stack(cxr, axis=0))
masks_dir = os.path.join(cxr_dir, '..', 'masks')
if os.path.isdir(masks_dir):
    masks = [np.array(Image.open(os.path.join(masks_dir, n)).convert('L')) for n in names]
    dicom('mask8.dcm', masks[0], 8)
    nib.save(nib.Nifti1Image(masks[0].T.astype(np.uint8), np.eye(4)), os.path.join(out, 'mask2d.nii.gz'))
    nib.save(nib.Nifti1Image(np.stack([m.T for m in masks], axis=2).astype(np.uint8), np.eye(4)), os.path.join(out, 'maskstack.nii.gz'))
print('ok', names)
